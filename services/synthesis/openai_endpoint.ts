/**
 * A minimal client of an OpenAI-compatible `/chat/completions` endpoint (the policy server's admin
 * port, vLLM, SGLang, Ollama, ...), shared by the model-aware check and the LLM writer. Tool calls
 * in the answer are rendered back into BFCL call syntax after the text content.
 * @module
 */
import { ChatEndpointError, postChatCompletion } from "@parlmt/openai";
import { callSourceFromJson } from "@parlmt/bfcl";

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
export { ChatEndpointError as EndpointError } from "@parlmt/openai";

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
export { callSourceFromJson as callFromJson } from "@parlmt/bfcl";

/** Sends one chat request; returns the assistant text (content, then `[calls]` if any). */
export async function chatText(
  ep: Endpoint,
  messages: readonly ChatMsg[],
  opts: { tools?: readonly ChatTool[]; maxTokens?: number; field?: string } = {},
): Promise<string> {
  const field = opts.field ?? "endpoint";
  const body: Record<string, unknown> = {
    messages,
    temperature: 0,
    max_tokens: opts.maxTokens ?? 256,
  };
  if (opts.tools && opts.tools.length > 0) {
    body.tools = opts.tools.map((t) => ({ type: "function", function: t }));
  }
  const { choice } = await postChatCompletion({ timeoutMs: 60_000, ...ep }, body, { label: field });
  const message = choice.message;
  let out = typeof message.content === "string" ? message.content : "";
  const calls: { function?: { name?: string; arguments?: string } }[] = Array.isArray(
      message.tool_calls,
    )
    ? message.tool_calls
    : [];
  if (calls.length > 0) {
    try {
      out += `[${
        calls.map((c) => callSourceFromJson(String(c.function?.name), c.function?.arguments ?? ""))
          .join(", ")
      }]`;
    } catch (err) {
      throw new ChatEndpointError(
        `${field} ${ep.baseUrl} answered bad tool_calls: ${(err as Error).message}`,
        200,
      );
    }
  }
  return out;
}
