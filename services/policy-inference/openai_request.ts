/**
 * Parsing and validation of OpenAI chat completion requests: the body (size-limited), messages,
 * tools and sampling fields, into the domain request; errors name the field.
 */
import { InvalidRequestError } from "./errors.ts";
import type { ChatMessage, GenerateInput, ToolDoc } from "./request.ts";

/** An error with its HTTP status and OpenAI error type. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

const num = (body: Record<string, unknown>, key: string, dflt: number): number => {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new InvalidRequestError(`Invalid ${key} ${JSON.stringify(v)}: must be a number`);
  }
  return v;
};

function messageOf(m: unknown, i: number): ChatMessage {
  const bad = (why: string): never => {
    throw new InvalidRequestError(`Invalid messages[${i}]: ${why}`);
  };
  if (typeof m !== "object" || m === null) bad("must be an object");
  const o = m as Record<string, unknown>;
  const role = o.role === "developer" ? "system" : o.role;
  if (role !== "system" && role !== "user" && role !== "assistant" && role !== "tool") {
    bad(`unknown role ${JSON.stringify(o.role)}`);
  }
  let content = "";
  if (typeof o.content === "string") content = o.content;
  else if (Array.isArray(o.content)) {
    content = o.content.map((p) => {
      if (p?.type !== "text" || typeof p.text !== "string") {
        bad("only text content parts are supported");
      }
      return p.text as string;
    }).join("");
  } else if (o.content !== undefined && o.content !== null) bad("content must be a string");
  const calls = o.tool_calls;
  if (calls !== undefined && !Array.isArray(calls)) bad("tool_calls must be an array");
  return {
    role: role as ChatMessage["role"],
    content,
    toolCalls: (calls as Record<string, unknown>[] | undefined)?.map((c, j) => {
      const f = c?.function as Record<string, unknown> | undefined;
      if (typeof f?.name !== "string") bad(`tool_calls[${j}].function.name is missing`);
      return {
        id: String(c.id ?? ""),
        name: f!.name as string,
        argumentsJson: typeof f!.arguments === "string" ? f!.arguments : "{}",
        source: "",
      };
    }),
    toolCallId: typeof o.tool_call_id === "string" ? o.tool_call_id : undefined,
  };
}

function toolOf(t: unknown, i: number): ToolDoc {
  const o = t as Record<string, unknown> | null;
  const f = (o?.type === "function" ? o.function : o) as Record<string, unknown> | undefined;
  if (!f || typeof f.name !== "string" || !f.name) {
    throw new InvalidRequestError(`Invalid tools[${i}]: function.name is missing`);
  }
  return {
    name: f.name,
    description: typeof f.description === "string" ? f.description : "",
    parameters: (f.parameters ?? {}) as Record<string, unknown>,
  };
}

/** The domain request of a chat completion body. */
export function chatRequest(
  body: unknown,
): { input: GenerateInput; stream: boolean; logprobs: boolean } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidRequestError("Invalid body: must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  if (b.model !== undefined && typeof b.model !== "string") {
    throw new InvalidRequestError("Invalid model: must be a string");
  }
  if (b.n !== undefined && b.n !== 1) throw new InvalidRequestError(`Invalid n ${b.n}: only 1`);
  const ids = b.prompt_token_ids;
  if (!Array.isArray(b.messages) && !Array.isArray(ids)) {
    throw new InvalidRequestError("Invalid messages: must be an array");
  }
  const tools = Array.isArray(b.tools) && b.tool_choice !== "none" ? b.tools.map(toolOf) : [];
  const stop = b.stop === undefined || b.stop === null
    ? []
    : typeof b.stop === "string"
    ? [b.stop]
    : Array.isArray(b.stop) && b.stop.every((s) => typeof s === "string")
    ? b.stop as string[]
    : (() => {
      throw new InvalidRequestError("Invalid stop: must be a string or an array of strings");
    })();
  let seed: bigint | undefined;
  if (b.seed !== undefined && b.seed !== null) {
    if (!Number.isSafeInteger(b.seed) || (b.seed as number) < 0) {
      throw new InvalidRequestError(
        `Invalid seed ${JSON.stringify(b.seed)}: must be an integer ≥ 0`,
      );
    }
    seed = BigInt(b.seed as number);
  }
  const maxTokens = num(b, "max_completion_tokens", num(b, "max_tokens", 0));
  const pin = num(b, "pin_version", 0);
  if (!Number.isSafeInteger(pin) || pin < 0) {
    throw new InvalidRequestError(`Invalid pin_version ${pin}`);
  }
  const prompt: GenerateInput["prompt"] = Array.isArray(ids)
    ? { kind: "tokens", ids: ids as number[] }
    : { kind: "chat", messages: (b.messages as unknown[]).map(messageOf), tools };
  return {
    input: {
      model: (b.model as string | undefined) ?? "",
      prompt,
      sampling: {
        temperature: num(b, "temperature", 1),
        topP: num(b, "top_p", 1),
        topK: num(b, "top_k", 0),
        seed,
        maxTokens,
        stop,
      },
      constrained: b.constrained === true,
      pinVersion: BigInt(pin),
    },
    stream: b.stream === true,
    logprobs: b.logprobs === true,
  };
}

/** The body of `req` as text; HttpError 413 beyond `max` bytes. */
export async function readBody(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > max) {
    throw new HttpError(413, "invalid_request_error", `Body exceeds ${max} bytes`);
  }
  const reader = req.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new HttpError(413, "invalid_request_error", `Body exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
