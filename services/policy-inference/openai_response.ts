/**
 * Building OpenAI responses: assistant text split into content and tool calls, logprobs,
 * finish reasons, the chat completion body, and errors mapped to HTTP statuses.
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
import type { GenerateOutput } from "./onnx_model.ts";
import { HttpError } from "./openai_request.ts";
import { parsePyCall } from "./py_call.ts";

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

/** An OpenAI error response. */
export function errorResponse(
  status: number,
  type: string,
  message: string,
  code?: string,
): Response {
  return Response.json({ error: { message, type, param: null, code: code ?? null } }, { status });
}

/** The response of a known error; null for an unexpected one. */
export function mapError(err: unknown): Response | null {
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

/** OpenAI logprobs of tokens `from..to` of `r`. */
export function logprobsOf(r: GenerateOutput, from = 0, to = r.tokenIds.length) {
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

/** The OpenAI finish reason of `r`. */
export function finishReason(r: GenerateOutput, calls: boolean): string {
  if (r.finishReason === "stop" && calls) return "tool_calls";
  return r.finishReason === "cancelled" ? "stop" : r.finishReason;
}

/** Token counts of `r`. */
export function usageOf(r: GenerateOutput) {
  const promptTokens = r.promptTokens ?? r.promptIds.length;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: r.tokenIds.length,
    total_tokens: promptTokens + r.tokenIds.length,
  };
}

/** The `chat.completion` body of a finished generation. */
export function completionBody(
  r: GenerateOutput,
  meta: { id: string; created: number; model: string; logprobs: boolean },
) {
  const { content, calls } = splitToolCalls(r.text);
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    prompt_token_ids: r.promptIds,
    choices: [{
      index: 0,
      message: { role: "assistant", content, ...(calls ? { tool_calls: calls } : {}) },
      logprobs: meta.logprobs ? logprobsOf(r) : null,
      finish_reason: finishReason(r, calls !== null),
      token_ids: r.tokenIds,
      token_versions: r.tokenVersions.map(Number),
      policy_version: Number(r.policyVersion),
    }],
    usage: usageOf(r),
  };
}
