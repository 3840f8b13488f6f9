/**
 * The external backend: the Generate API forwarded to any OpenAI-compatible server (vLLM,
 * SGLang, Ollama, or this service's own HTTP API) by base URL, model name and API key, so
 * large models can be rolled out and evaluated through the same contract. Chat prompts only
 * (token-id prompts need the server's tokenizer). Token ids, per-token versions and the policy
 * version are taken from the answer when the peer returns them (this project's server does;
 * vLLM returns `token_ids` with `return_token_ids`); logprobs always come from `logprobs`.
 */
import { ChatEndpointError, postChatCompletion } from "@parlmt/openai";
import { InvalidRequestError, UpstreamError } from "./errors.ts";
import type { GenerateOptions, GenerateOutput, ServedModel } from "./onnx_model.ts";
import { callSource, type GenerateInput, type RequestLimits, validateSampling } from "./request.ts";

/** Options of ExternalModel. */
export interface ExternalModelOptions {
  /** Id served here. */
  readonly id: string;
  /** e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string;
  /** Model name sent upstream. */
  readonly model: string;
  readonly apiKey?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
  readonly limits: RequestLimits;
}

/** A model served by an external OpenAI-compatible server. */
export class ExternalModel implements ServedModel {
  readonly id: string;
  readonly backend = "external" as const;
  #opts: ExternalModelOptions;
  #lastVersion = 0n;

  constructor(opts: ExternalModelOptions) {
    if (!/^https?:\/\//.test(opts.baseUrl)) {
      throw new RangeError(`Cannot use external base URL "${opts.baseUrl}": must be http(s)`);
    }
    this.id = opts.id;
    this.#opts = opts;
  }

  weightsVersion(): bigint {
    return this.#lastVersion;
  }

  configJson(): string {
    return JSON.stringify({ baseUrl: this.#opts.baseUrl, model: this.#opts.model });
  }

  /** The chat completion request body of a Generate request. */
  requestBody(input: GenerateInput): Record<string, unknown> {
    if (input.prompt.kind !== "chat") {
      throw new InvalidRequestError(
        `Invalid prompt: model "${this.id}" (external) takes chat prompts, not token ids`,
      );
    }
    const s = input.sampling;
    validateSampling(s, this.#opts.limits);
    const body: Record<string, unknown> = {
      model: this.#opts.model,
      messages: input.prompt.messages.map((m) => ({
        role: m.role,
        content: m.content,
        ...(m.toolCalls?.length
          ? {
            tool_calls: m.toolCalls.map((c, i) => ({
              id: c.id || `call_${i}`,
              type: "function",
              function: { name: c.name, arguments: c.argumentsJson || "{}" },
            })),
          }
          : {}),
        ...(m.role === "tool" ? { tool_call_id: m.toolCallId ?? "" } : {}),
      })),
      temperature: s.temperature,
      logprobs: true,
      stream: false,
    };
    if (input.prompt.tools.length > 0) {
      body.tools = input.prompt.tools.map((t) => ({
        type: "function",
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
    }
    if (s.topP > 0) body.top_p = s.topP;
    if (s.topK > 0) body.top_k = s.topK;
    if (s.seed !== undefined) body.seed = Number(s.seed);
    if (s.maxTokens > 0) body.max_tokens = s.maxTokens;
    if (s.stop.length > 0) body.stop = s.stop;
    if (input.constrained) body.constrained = true;
    if (input.pinVersion > 0n) body.pin_version = Number(input.pinVersion);
    return body;
  }

  async generate(input: GenerateInput, opts: GenerateOptions = {}): Promise<GenerateOutput> {
    const body = this.requestBody(input);
    const { baseUrl, apiKey, timeoutMs = 120_000 } = this.#opts;
    let answer;
    try {
      answer = await postChatCompletion(
        { baseUrl, model: this.#opts.model, apiKey, timeoutMs },
        body,
        {
          signal: opts.signal,
          label: "external model",
        },
      );
    } catch (err) {
      if (err instanceof ChatEndpointError) {
        // No answer or no choice is a bad gateway; an HTTP error keeps its status.
        const status = err.status === 0 ? 0 : err.status < 400 ? 502 : err.status;
        throw new UpstreamError(err.message, status, { cause: err });
      }
      throw err;
    }
    const { json, choice } = answer;
    const calls: { function: { name: string; arguments: string } }[] = choice.message.tool_calls ??
      [];
    let out = typeof choice.message.content === "string" ? choice.message.content : "";
    if (calls.length > 0) {
      try {
        out += `[${
          calls.map((c) => callSource(c.function.name, c.function.arguments)).join(", ")
        }]`;
      } catch (err) {
        throw new UpstreamError(
          `External model answered bad tool_calls: ${(err as Error).message}`,
          502,
        );
      }
    }
    const lp: { token: string; logprob: number }[] = choice.logprobs?.content ?? [];
    const tokenIds: number[] = Array.isArray(choice.token_ids) ? choice.token_ids : [];
    const versions = Array.isArray(choice.token_versions)
      ? choice.token_versions.map((v: number) => BigInt(v))
      : tokenIds.map(() => 0n);
    const policyVersion = BigInt(choice.policy_version ?? 0);
    if (policyVersion > this.#lastVersion) this.#lastVersion = policyVersion;
    const result: GenerateOutput = {
      promptIds: Array.isArray(json.prompt_token_ids) ? json.prompt_token_ids : [],
      tokenIds,
      logprobs: lp.map((t) => t.logprob),
      tokenVersions: versions,
      text: out,
      finishReason: choice.finish_reason === "length" ? "length" : "stop",
      policyVersion,
      tokenTexts: lp.map((t) => t.token),
      promptTokens: json.usage?.prompt_tokens ?? 0,
    };
    opts.onDelta?.({
      tokenIds,
      logprobs: result.logprobs,
      versions,
      textDelta: out,
    });
    return result;
  }
}
