/** The domain types of a generation between the served model and the scheduler. */
import type { Constraint } from "./constrained.ts";
import type { EngineShape } from "./engine.ts";
import type { SamplingOptions } from "./sampler.ts";

/** Text side of a model: decoding generated ids (for text and stop strings). */
export interface TextCodec {
  decode(ids: readonly number[]): string;
}

/** Tokens decoded since the previous delta of a request. */
export interface TokenDelta {
  readonly tokenIds: number[];
  readonly logprobs: number[];
  readonly versions: bigint[];
  readonly textDelta: string;
}

/** One generation request, validated. */
export interface GenerateJob {
  readonly promptIds: readonly number[];
  readonly sampling: SamplingOptions;
  readonly seed: bigint;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** 0 = follow the newest version; else decode only with this version. */
  readonly pinVersion: bigint;
  readonly constraint?: Constraint;
  readonly signal?: AbortSignal;
  readonly onDelta?: (delta: TokenDelta) => void;
}

/** Why a generation stopped. */
export type FinishReason = "stop" | "length" | "cancelled";

/** A finished generation. */
export interface GenerationResult {
  readonly promptIds: readonly number[];
  readonly tokenIds: number[];
  readonly logprobs: number[];
  readonly tokenVersions: bigint[];
  readonly text: string;
  readonly finishReason: FinishReason;
}

/** The result of a request cancelled before its first token. */
export function cancelledResult(job: GenerateJob): GenerationResult {
  return {
    promptIds: job.promptIds,
    tokenIds: [],
    logprobs: [],
    tokenVersions: [],
    text: "",
    finishReason: "cancelled",
  };
}

/** What the serving side knows of the engine new requests start on. */
export interface EngineInfo {
  readonly version: bigint;
  readonly configJson: string;
  readonly shape: EngineShape;
}

/** Where served models send their generations: the Scheduler, or its proxy on another thread. */
export interface GenerationScheduler {
  /** The engine new requests start on (null before the first weights). */
  readonly current: EngineInfo | null;
  submit(job: GenerateJob): Promise<GenerationResult>;
}
