/**
 * A model served by the built-in runtime: prompt rendering (turn template or the model's Jinja
 * chat template), request validation, and generation through the batching scheduler.
 */
import { Template } from "@huggingface/jinja";
import { type BpeTokenizer, TURN_TOKENS, TurnTemplate } from "@parlmt/tokenizer";
import { type TokenBytes, tokenBytesOf, TurnFormatConstraint } from "./constrained.ts";
import { InvalidRequestError, ModelNotFoundError, NoWeightsError } from "./errors.ts";
import {
  type GenerateInput,
  type RequestLimits,
  toTurnMessages,
  toTurnTools,
  validateSampling,
} from "./request.ts";
import type { GenerationResult, GenerationScheduler, TokenDelta } from "./generation.ts";

/** A finished generation with the newest version that produced a token. */
export interface GenerateOutput extends GenerationResult {
  readonly policyVersion: bigint;
  /** Text of each generated token (for OpenAI logprobs), when the model has a tokenizer. */
  readonly tokenTexts?: readonly string[];
  /** Prompt length in tokens (external models report it; else promptIds.length). */
  readonly promptTokens?: number;
}

/** Per-call options of ServedModel.generate(). */
export interface GenerateOptions {
  readonly signal?: AbortSignal;
  /** Fill `tokenTexts` (OpenAI logprobs need them). @default false */
  readonly tokenTexts?: boolean;
  readonly onDelta?: (delta: TokenDelta) => void;
}

/** A model behind the Generate API (built-in runtime or an external server). */
export interface ServedModel {
  readonly id: string;
  readonly backend: "onnx" | "external";
  weightsVersion(): bigint;
  configJson(): string;
  generate(input: GenerateInput, opts?: GenerateOptions): Promise<GenerateOutput>;
}

/** Models by id; the first one is the default. */
export class ModelRegistry {
  readonly models: readonly ServedModel[];
  constructor(models: readonly ServedModel[]) {
    this.models = models;
  }

  /** The model for `id` ("" = default); throws ModelNotFoundError. */
  get(id: string): ServedModel {
    const m = id ? this.models.find((m) => m.id === id) : this.models[0];
    if (!m) {
      throw new ModelNotFoundError(
        `Unknown model "${id}": served models are ${this.models.map((m) => `"${m.id}"`)}`,
      );
    }
    return m;
  }
}

/** Options of OnnxModel. */
export interface OnnxModelOptions {
  readonly id: string;
  readonly scheduler: GenerationScheduler;
  readonly limits: RequestLimits;
  /** Needed for chat prompts, text, stop strings and constrained decoding. */
  readonly tokenizer?: BpeTokenizer;
  /** A Jinja chat template (from `tokenizer_config.json`); default: the turn template. */
  readonly chatTemplate?: string;
}

/** A model served by the onnxruntime scheduler. */
export class OnnxModel implements ServedModel {
  readonly id: string;
  readonly backend = "onnx" as const;
  readonly scheduler: GenerationScheduler;
  #limits: RequestLimits;
  #tokenizer?: BpeTokenizer;
  #template?: Template;
  #turn?: TurnTemplate;
  #bytes?: TokenBytes;
  #endIds: number[];

  constructor(opts: OnnxModelOptions) {
    this.id = opts.id;
    this.scheduler = opts.scheduler;
    this.#limits = opts.limits;
    this.#tokenizer = opts.tokenizer;
    if (opts.chatTemplate) this.#template = new Template(opts.chatTemplate);
    const tok = opts.tokenizer;
    if (tok && hasTurnTokens(tok)) this.#turn = new TurnTemplate(tok);
    const end = tok?.tokenId(TURN_TOKENS.end);
    this.#endIds = end === undefined ? [] : [end];
  }

  /** Ids that end a generation (the turn template's `<|end|>`, when registered). */
  get endIds(): readonly number[] {
    return this.#endIds;
  }

  weightsVersion(): bigint {
    return this.scheduler.current?.version ?? 0n;
  }

  configJson(): string {
    return this.scheduler.current?.configJson ?? "";
  }

  /** Token ids of a request's prompt (chat prompts rendered by the template). */
  promptIds(input: GenerateInput): number[] {
    const p = input.prompt;
    if (p.kind === "tokens") return [...p.ids];
    const tok = this.#tokenizer;
    if (!tok || (!this.#template && !this.#turn)) {
      throw new InvalidRequestError(
        `Cannot render a chat prompt: model "${this.id}" has no tokenizer with a chat template; send token ids`,
      );
    }
    const messages = toTurnMessages(p.messages);
    const tools = toTurnTools(p.tools);
    try {
      if (this.#template) {
        return tok.encode(this.#template.render({
          messages,
          tools: tools.length ? tools : undefined,
          add_generation_prompt: true,
        }));
      }
      return this.#turn!.renderPrompt(messages, tools);
    } catch (err) {
      throw new InvalidRequestError(`Invalid messages: ${(err as Error).message}`, { cause: err });
    }
  }

  async generate(input: GenerateInput, opts: GenerateOptions = {}): Promise<GenerateOutput> {
    const engine = this.scheduler.current;
    if (!engine) throw new NoWeightsError(`Cannot generate: model "${this.id}" has no weights yet`);
    const limits = this.#limits;
    const s = input.sampling;
    validateSampling(s, limits);
    const ids = this.promptIds(input);
    const { vocabSize: V, maxPositions } = engine.shape;
    if (ids.length === 0) throw new InvalidRequestError("Invalid prompt: it is empty");
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new InvalidRequestError(`Invalid prompt token_ids[${i}] ${t}: vocabulary is ${V}`);
      }
    });
    const maxPrompt = Math.min(limits.maxPromptTokens || Infinity, maxPositions - 1);
    if (ids.length > maxPrompt) {
      throw new InvalidRequestError(
        `Invalid prompt: ${ids.length} tokens exceed the limit of ${maxPrompt}`,
      );
    }
    if (s.stop.length > 0 && !this.#tokenizer) {
      throw new InvalidRequestError(`Invalid stop: model "${this.id}" has no tokenizer`);
    }
    let constraint;
    if (input.constrained) {
      const tok = this.#tokenizer;
      if (!tok || this.#endIds.length === 0) {
        throw new InvalidRequestError(
          `Invalid constrained: model "${this.id}" has no turn-format tokenizer`,
        );
      }
      this.#bytes ??= tokenBytesOf(tok.vocab, tok.specialTokens);
      const tools = input.prompt.kind === "chat" ? input.prompt.tools.map((t) => t.name) : [];
      constraint = new TurnFormatConstraint(tools, this.#bytes, this.#endIds);
    }
    const maxTokens = Math.min(s.maxTokens || limits.defaultMaxTokens, maxPositions - ids.length);
    const seed = s.seed ?? crypto.getRandomValues(new BigUint64Array(1))[0]!;
    const r = await this.scheduler.submit({
      promptIds: ids,
      sampling: { temperature: s.temperature, topP: s.topP || 1, topK: s.topK },
      seed,
      maxTokens,
      stop: s.stop,
      pinVersion: input.pinVersion,
      constraint,
      signal: opts.signal,
      onDelta: opts.onDelta,
    });
    const newest = r.tokenVersions.reduce((a, b) => (b > a ? b : a), 0n);
    const tok = this.#tokenizer;
    return {
      ...r,
      policyVersion: newest || engine.version,
      tokenTexts: tok && opts.tokenTexts
        ? r.tokenIds.map((id) => id < tok.size ? tok.decode([id]) : "")
        : undefined,
    };
  }
}

function hasTurnTokens(tok: BpeTokenizer): boolean {
  return Object.values(TURN_TOKENS).every((t) => tok.specialTokens.includes(t));
}
