/**
 * The OpenAI-compatible HTTP API: `GET /v1/models` and `POST /v1/chat/completions` (tools,
 * tool_calls, logprobs, streaming over SSE). Assistant output in the turn format is split
 * into `content` (the progress block) and `tool_calls` (the parsed call list). Extensions for
 * RL clients: request fields `top_k`, `constrained`, `pin_version`, `prompt_token_ids` (used
 * instead of rendering `messages`); response fields `prompt_token_ids`, and per choice
 * `token_ids`, `token_versions` and `policy_version` (also in the last stream chunk).
 */
import type { ModelRegistry } from "./onnx_model.ts";
import { chatRequest, readBody } from "./openai_request.ts";
import { completionBody, errorResponse, mapError } from "./openai_response.ts";
import { streamCompletion } from "./openai_sse.ts";
import { InvalidRequestError } from "./errors.ts";

export { chatRequest } from "./openai_request.ts";
export { type OpenAiToolCall, splitToolCalls } from "./openai_response.ts";

/** Options of openaiHandler(). */
export interface OpenAiHttpOptions {
  /** Largest request body. @default 4 MiB */
  readonly maxBodyBytes?: number;
  /** Called with unexpected errors (logged by the caller, never sent). */
  readonly onError?: (err: unknown) => void;
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
      return Response.json(completionBody(r, { id, created, model: model.id, logprobs }));
    } catch (err) {
      const res = mapError(err);
      if (res) return res;
      onError?.(err);
      return errorResponse(500, "server_error", "Internal error");
    }
  };
}
