/**
 * Streaming chat completions over server-sent events: content deltas as tokens arrive (a call
 * list is held back and sent as `tool_calls`), then the finish chunk, usage and `[DONE]`.
 */
import type { ModelRegistry } from "./onnx_model.ts";
import { finishReason, mapError, splitToolCalls, usageOf } from "./openai_response.ts";
import type { GenerateInput } from "./request.ts";

/**
 * Starts the generation and answers once it produced its first tokens or failed, so a bad
 * request gets a plain HTTP error instead of a stream that fails.
 */
export async function streamCompletion(
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
    send({
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: model.id,
      choices: [],
      usage: usageOf(r),
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
