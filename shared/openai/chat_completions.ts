/**
 * One POST to an OpenAI-compatible `/chat/completions` endpoint (the policy server's admin port,
 * vLLM, SGLang, Ollama, a hosted API), with the failure modes every caller needs told apart:
 * unreachable, an HTTP error with the server's message, a non-JSON answer, no choice.
 */

/** Where to send requests. */
export interface ChatEndpoint {
  /** Base URL, e.g. `http://127.0.0.1:9103/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  /** Sent as a bearer token when set. */
  readonly apiKey?: string;
  /** Per-request timeout. @default {120000} */
  readonly timeoutMs?: number;
}

/** The endpoint failed; `status` is the HTTP status (0 when it did not answer). */
export class ChatEndpointError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChatEndpointError";
    this.status = status;
  }
}

/** Options of {@linkcode postChatCompletion}. */
export interface PostOptions {
  /** Cancels the request; a caller's abort is rethrown as is. */
  signal?: AbortSignal;
  /** Names the endpoint in error messages. @default {"endpoint"} */
  label?: string;
  /** The fetch function. @default {globalThis.fetch} */
  fetch?: typeof fetch;
}

/** The parsed answer and its first choice. */
export interface ChatAnswer {
  // deno-lint-ignore no-explicit-any -- an OpenAI answer; callers read the fields they need
  json: any;
  // deno-lint-ignore no-explicit-any -- choices[0], known to have a message
  choice: any;
}

/** Sends `body` (plus `model`) and returns the answer; throws ChatEndpointError naming the URL. */
export async function postChatCompletion(
  endpoint: ChatEndpoint,
  body: Record<string, unknown>,
  options: PostOptions = {},
): Promise<ChatAnswer> {
  const { label = "endpoint", signal, fetch: fetchFn = globalThis.fetch } = options;
  const url = `${endpoint.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const timeout = AbortSignal.timeout(endpoint.timeoutMs ?? 120_000);
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
      },
      body: JSON.stringify({ model: endpoint.model, ...body }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ChatEndpointError(`Cannot reach ${label} ${url}: ${(err as Error).message}`, 0, {
      cause: err,
    });
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ChatEndpointError(
      `${label} ${url} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`,
      res.status,
    );
  }
  if (!res.ok) {
    const message = json?.error?.message ?? text.slice(0, 200);
    throw new ChatEndpointError(`${label} ${url} answered ${res.status}: ${message}`, res.status);
  }
  const choice = json?.choices?.[0];
  if (!choice?.message) {
    throw new ChatEndpointError(`${label} ${url} answered without a choice`, res.status);
  }
  return { json, choice };
}
