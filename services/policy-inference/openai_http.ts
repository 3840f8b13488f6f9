/**
 * The OpenAI-compatible HTTP API: `GET /v1/models` and `POST /v1/chat/completions` (tools,
 * tool_calls, logprobs, streaming over SSE). Assistant output in the turn format is split
 * into `content` (the progress block) and `tool_calls` (the parsed call list). Extensions for
 * RL clients: request fields `top_k`, `constrained`, `pin_version`, `prompt_token_ids` (used
 * instead of rendering `messages`); response fields `prompt_token_ids`, and per choice
 * `token_ids`, `token_versions` and `policy_version` (also in the last stream chunk).
 */
import { parseAssistantText } from "@parlmt/tokenizer";
import {
  DrainingError,
  InvalidRequestError,
  ModelNotFoundError,
  NoWeightsError,
  QueueFullError,
  UpstreamError,
  VersionConflictError,
} from "./errors.ts";
import type { GenerateOutput, ModelRegistry } from "./onnx_model.ts";
import { parsePyCall } from "./py_call.ts";
import type { ChatMessage, GenerateInput, ToolDoc } from "./request.ts";

/** Options of openaiHandler(). */
export interface OpenAiHttpOptions {
  /** Largest request body. @default 4 MiB */
  readonly maxBodyBytes?: number;
  /** Called with unexpected errors (logged by the caller, never sent). */
  readonly onError?: (err: unknown) => void;
}

/** An OpenAI tool call. */
export interface OpenAiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Splits assistant text into content and tool calls (null when the text is not a call list). */
export function splitToolCalls(text: string): { content: string; calls: OpenAiToolCall[] | null } {
  const parts = parseAssistantText(text);
  if (!parts.calls || parts.calls.length === 0) return { content: text, calls: null };
  try {
    const calls = parts.calls.map((c, i) => {
      const j = parsePyCall(c);
      return {
        id: `call_${i}`,
        type: "function" as const,
        function: { name: j.name, arguments: JSON.stringify(j.arguments) },
      };
    });
    const at = text.lastIndexOf(parts.rest);
    return { content: text.slice(0, at).trimEnd(), calls };
  } catch {
    // Not representable as JSON keyword calls: leave the text as content.
    return { content: text, calls: null };
  }
}

class HttpError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

function errorResponse(status: number, type: string, message: string, code?: string): Response {
  return Response.json({ error: { message, type, param: null, code: code ?? null } }, { status });
}

function mapError(err: unknown): Response | null {
  if (err instanceof HttpError) return errorResponse(err.status, err.type, err.message);
  if (err instanceof InvalidRequestError) {
    return errorResponse(400, "invalid_request_error", err.message);
  }
  if (err instanceof ModelNotFoundError) {
    return errorResponse(404, "invalid_request_error", err.message, "model_not_found");
  }
  if (err instanceof QueueFullError) return errorResponse(429, "rate_limit_error", err.message);
  if (err instanceof NoWeightsError || err instanceof DrainingError) {
    return errorResponse(503, "service_unavailable", err.message);
  }
  if (err instanceof VersionConflictError) return errorResponse(409, "conflict", err.message);
  if (err instanceof UpstreamError) return errorResponse(502, "upstream_error", err.message);
  return null;
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

function logprobsOf(r: GenerateOutput, from = 0, to = r.tokenIds.length) {
  const enc = new TextEncoder();
  return {
    content: r.tokenIds.slice(from, to).map((id, k) => {
      const token = r.tokenTexts?.[from + k] ?? `token_id:${id}`;
      return {
        token,
        logprob: r.logprobs[from + k]!,
        bytes: [...enc.encode(token)],
        top_logprobs: [],
      };
    }),
  };
}

/** The handler of the OpenAI routes; undefined for other paths. */
export function openaiHandler(
  models: ModelRegistry,
  opts: OpenAiHttpOptions = {},
): (req: Request) => Promise<Response | undefined> {
  const { maxBodyBytes = 4 * 1024 * 1024, onError } = opts;
  let counter = 0;
  return async function handleOpenAi(req: Request): Promise<Response | undefined> {
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    if (path === "/v1/models") {
      if (req.method !== "GET") return errorResponse(405, "invalid_request_error", "Use GET");
      return Response.json({
        object: "list",
        data: models.models.map((m) => ({
          id: m.id,
          object: "model",
          created: 0,
          owned_by: m.backend === "onnx" ? "parlmt" : "external",
          policy_version: Number(m.weightsVersion()),
        })),
      });
    }
    if (path !== "/v1/chat/completions") return undefined;
    if (req.method !== "POST") return errorResponse(405, "invalid_request_error", "Use POST");
    try {
      const text = await readBody(req, maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new InvalidRequestError(`Invalid JSON body: ${(err as Error).message}`);
      }
      const { input, stream, logprobs } = chatRequest(body);
      const model = models.get(input.model);
      const id = `chatcmpl-${Date.now().toString(36)}${(counter++).toString(36)}`;
      const created = Math.floor(Date.now() / 1000);
      if (stream) {
        return await streamCompletion(model, input, { id, created, logprobs, signal: req.signal });
      }
      const r = await model.generate(input, { signal: req.signal, tokenTexts: logprobs });
      const { content, calls } = splitToolCalls(r.text);
      const promptTokens = r.promptTokens ?? r.promptIds.length;
      return Response.json({
        id,
        object: "chat.completion",
        created,
        model: model.id,
        prompt_token_ids: r.promptIds,
        choices: [{
          index: 0,
          message: { role: "assistant", content, ...(calls ? { tool_calls: calls } : {}) },
          logprobs: logprobs ? logprobsOf(r) : null,
          finish_reason: finishReason(r, calls !== null),
          token_ids: r.tokenIds,
          token_versions: r.tokenVersions.map(Number),
          policy_version: Number(r.policyVersion),
        }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: r.tokenIds.length,
          total_tokens: promptTokens + r.tokenIds.length,
        },
      });
    } catch (err) {
      const res = mapError(err);
      if (res) return res;
      onError?.(err);
      return errorResponse(500, "server_error", "Internal error");
    }
  };
}

function finishReason(r: GenerateOutput, calls: boolean): string {
  if (r.finishReason === "stop" && calls) return "tool_calls";
  return r.finishReason === "cancelled" ? "stop" : r.finishReason;
}

async function readBody(req: Request, max: number): Promise<string> {
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

/**
 * Starts the generation and answers once it produced its first tokens or failed, so a bad
 * request gets a plain HTTP error instead of a stream that fails.
 */
async function streamCompletion(
  model: ReturnType<ModelRegistry["get"]>,
  input: GenerateInput,
  meta: { id: string; created: number; logprobs: boolean; signal: AbortSignal },
): Promise<Response> {
  const enc = new TextEncoder();
  const abort = new AbortController();
  const signal = AbortSignal.any([meta.signal, abort.signal]);
  const out: Uint8Array[] = [];
  let closed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const send = (obj: unknown) => out.push(enc.encode(`data: ${JSON.stringify(obj)}\n\n`));
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    send({
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: model.id,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }],
    });
  chunk({ role: "assistant", content: "" });
  let text = "";
  let sent = 0;
  // Hold back a call list (it is sent as tool_calls) and the text that may start one.
  const flushable = (): number => {
    const close = text.indexOf("</progress>");
    if (close < 0) return text.length;
    const end = close + "</progress>".length;
    const rest = text.slice(end).trimStart();
    return rest === "" || rest.startsWith("[") ? end : text.length;
  };
  const started = Promise.withResolvers<void>();
  const run = model.generate(input, {
    signal,
    onDelta: (d) => {
      text += d.textDelta;
      const upto = Math.max(sent, flushable());
      const content = text.slice(sent, upto);
      sent = upto;
      const lp = meta.logprobs
        ? {
          content: d.tokenIds.map((id, k) => ({
            token: `token_id:${id}`,
            logprob: d.logprobs[k]!,
            bytes: [],
            top_logprobs: [],
          })),
        }
        : null;
      chunk({ content }, {
        logprobs: lp,
        token_ids: d.tokenIds,
        token_versions: d.versions.map(Number),
      });
      started.resolve();
      notify();
    },
  });
  try {
    await Promise.race([started.promise, run]);
  } catch (err) {
    const res = mapError(err);
    if (res) return res;
    throw err;
  }
  run.then((r) => {
    const { content, calls } = splitToolCalls(r.text);
    if (calls) chunk({ tool_calls: calls.map((c, index) => ({ index, ...c })) });
    else if (content.length > sent) chunk({ content: content.slice(sent) });
    chunk({}, {
      finish_reason: finishReason(r, calls !== null),
      policy_version: Number(r.policyVersion),
    });
    const promptTokens = r.promptTokens ?? r.promptIds.length;
    send({
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: model.id,
      choices: [],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: r.tokenIds.length,
        total_tokens: promptTokens + r.tokenIds.length,
      },
    });
  }, (err) => {
    const known = mapError(err) !== null;
    send({
      error: {
        message: known ? (err as Error).message : "Internal error",
        type: known ? "invalid_request_error" : "server_error",
      },
    });
  }).finally(() => {
    out.push(enc.encode("data: [DONE]\n\n"));
    closed = true;
    notify();
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      while (out.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
      if (out.length > 0) ctrl.enqueue(out.shift()!);
      else ctrl.close();
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}
