/**
 * A minimal client of an OpenAI-compatible `/chat/completions` endpoint (the policy server's admin
 * port, vLLM, SGLang, Ollama, ...), shared by the model-aware check and the LLM writer. Tool calls
 * in the answer are rendered back into BFCL call syntax after the text content.
 * @module
 */
import { parsePyJson, PyDict, pyRepr } from "@parlmt/pycompat";

/** Where to send requests. */
export interface Endpoint {
  /** Base URL, e.g. `http://127.0.0.1:9103/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  /** Bearer token (empty: none). */
  readonly apiKey?: string;
  /** Per-request timeout. @default 60000 */
  readonly timeoutMs?: number;
}

/** The endpoint failed (unreachable, HTTP error, malformed answer); the message names the URL. */
export class EndpointError extends Error {
  constructor(message: string, readonly status = 0, options?: ErrorOptions) {
    super(message, options);
    this.name = "EndpointError";
  }
}

/** Checks a base URL; throws RangeError naming `field`. */
export function validateBaseUrl(url: string, field: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`Invalid ${field} "${url}": not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new RangeError(`Invalid ${field} "${url}": expected an http or https URL`);
  }
  return url.replace(/\/+$/, "");
}

/** One chat message as sent. */
export interface ChatMsg {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
}

/** One tool as sent (JSON schema parameters). */
export interface ChatTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
}

/** The BFCL source of a call from its JSON arguments: `name(key='v', n=1)`. */
export function callFromJson(name: string, argumentsJson: string): string {
  const args = argumentsJson ? parsePyJson(argumentsJson) : new PyDict();
  if (!(args instanceof PyDict)) throw new TypeError(`arguments of "${name}" are not an object`);
  return `${name}(${[...args].map(([k, v]) => `${String(k)}=${pyRepr(v)}`).join(", ")})`;
}

/** Sends one chat request; returns the assistant text (content, then `[calls]` if any). */
export async function chatText(
  ep: Endpoint,
  messages: readonly ChatMsg[],
  opts: { tools?: readonly ChatTool[]; maxTokens?: number; field?: string } = {},
): Promise<string> {
  const field = opts.field ?? "endpoint";
  const url = `${ep.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const body: Record<string, unknown> = {
    model: ep.model,
    messages,
    temperature: 0,
    max_tokens: opts.maxTokens ?? 256,
  };
  if (opts.tools && opts.tools.length > 0) {
    body.tools = opts.tools.map((t) => ({ type: "function", function: t }));
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(ep.apiKey ? { authorization: `Bearer ${ep.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ep.timeoutMs ?? 60_000),
    });
  } catch (err) {
    throw new EndpointError(`Cannot reach ${field} ${url}: ${(err as Error).message}`, 0, {
      cause: err,
    });
  }
  const text = await res.text();
  // deno-lint-ignore no-explicit-any -- an OpenAI answer, checked field by field below
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EndpointError(`${field} ${url} answered ${res.status} with non-JSON`, res.status);
  }
  if (!res.ok) {
    const msg = json?.error?.message ?? text.slice(0, 200);
    throw new EndpointError(`${field} ${url} answered ${res.status}: ${msg}`, res.status);
  }
  const message = json?.choices?.[0]?.message;
  if (!message) throw new EndpointError(`${field} ${url} answered without a choice`, res.status);
  let out = typeof message.content === "string" ? message.content : "";
  const calls: { function?: { name?: string; arguments?: string } }[] = Array.isArray(
      message.tool_calls,
    )
    ? message.tool_calls
    : [];
  if (calls.length > 0) {
    try {
      out += `[${
        calls.map((c) => callFromJson(String(c.function?.name), c.function?.arguments ?? ""))
          .join(", ")
      }]`;
    } catch (err) {
      throw new EndpointError(
        `${field} ${url} answered bad tool_calls: ${(err as Error).message}`,
        res.status,
      );
    }
  }
  return out;
}
