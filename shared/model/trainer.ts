/**
 * Trainer: owns a training-step session, the weights and the AdamW moments; step() feeds one
 * batch and swaps in the updated tensors. One session.run per step.
 */
import { float32, type HostTensor, hostTensor } from "@parlmt/onnx";
import { Session, type SessionOptions } from "@parlmt/ort";
import type { ModelConfig } from "./config.ts";
import {
  buildTrainGraph,
  OBJECTIVE_INPUTS,
  OBJECTIVE_OUTPUTS,
  TRAIN_NAMES,
  type TrainGraphOptions,
} from "./train_graph.ts";
import { checkWeights, paramSpecs, type Weights, zerosLikeWeights } from "./weights.ts";

/** One batch: token arrays `[B·T]` row-major; ids as numbers, the rest floats. */
export type Batch = Readonly<Record<string, ArrayLike<number>>>;

/** Options of Trainer.create(). */
export interface TrainerOptions extends TrainGraphOptions, SessionOptions {
  /** AdamW moments to resume from (default zeros). */
  readonly m?: Weights;
  readonly v?: Weights;
  /** Optimizer steps already taken (bias correction resumes from here). @default 0 */
  readonly step?: number;
}

/** Scalars of one step (loss, grad_norm, and clip_frac/kl/entropy for the policy loss). */
export type StepMetrics = Record<string, number>;

/** A training loop's state and session. */
export class Trainer {
  readonly config: ModelConfig;
  readonly batchSize: number;
  readonly seqLen: number;
  #session: Session;
  #kind: "sft" | "policy";
  #weights: Weights;
  #m: Weights;
  #v: Weights;
  #step: number;

  private constructor(
    config: ModelConfig,
    session: Session,
    weights: Weights,
    opts: TrainerOptions,
  ) {
    this.config = config;
    this.batchSize = opts.batchSize;
    this.seqLen = opts.seqLen;
    this.#session = session;
    this.#kind = opts.objective?.kind ?? "sft";
    this.#weights = new Map(weights);
    this.#m = opts.m ? new Map(opts.m) : zerosLikeWeights(weights);
    this.#v = opts.v ? new Map(opts.v) : zerosLikeWeights(weights);
    this.#step = opts.step ?? 0;
  }

  /** Builds the step graph and its session. */
  static async create(
    config: ModelConfig,
    weights: Weights,
    opts: TrainerOptions,
  ): Promise<Trainer> {
    checkWeights(config, weights);
    const bytes = buildTrainGraph(config, opts).toBytes();
    const session = await Session.create(bytes, opts);
    return new Trainer(config, session, weights, opts);
  }

  /** Current weights (the trainer replaces the map's tensors each step; copy to keep). */
  get weights(): Weights {
    return this.#weights;
  }
  /** AdamW first moments. */
  get m(): Weights {
    return this.#m;
  }
  /** AdamW second moments. */
  get v(): Weights {
    return this.#v;
  }
  /** Optimizer steps taken. */
  get step(): number {
    return this.#step;
  }

  /**
   * Takes over weights, moments and step count, e.g. from a trainer of the same model built for
   * another batch shape (length buckets). The maps are copied; tensors are shared, not mutated.
   */
  loadState(state: { weights: Weights; m: Weights; v: Weights; step: number }): void {
    checkWeights(this.config, state.weights);
    checkWeights(this.config, state.m);
    checkWeights(this.config, state.v);
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new RangeError(`Cannot load trainer state: step ${state.step}`);
    }
    this.#weights = new Map(state.weights);
    this.#m = new Map(state.m);
    this.#v = new Map(state.v);
    this.#step = state.step;
  }

  /** Runs one optimizer step on `batch` with learning rate `lr`. */
  async trainStep(batch: Batch, lr: number): Promise<StepMetrics> {
    const { batchSize: B, seqLen: T } = this;
    const feeds: Record<string, HostTensor> = {};
    for (const name of OBJECTIVE_INPUTS[this.#kind]) {
      const src = batch[name];
      if (!src || src.length !== B * T) {
        throw new RangeError(
          `Cannot run train step: batch field "${name}" needs ${B * T} values, got ${src?.length}`,
        );
      }
      feeds[name] = name === "input_ids" || name === "targets"
        ? hostTensor("int64", [B, T], toInt64(src))
        : hostTensor("float32", [B, T], Float32Array.from(src));
    }
    for (const s of paramSpecs(this.config)) {
      feeds[s.name] = this.#weights.get(s.name)!;
      feeds[TRAIN_NAMES.m(s.name)] = this.#m.get(s.name)!;
      feeds[TRAIN_NAMES.v(s.name)] = this.#v.get(s.name)!;
    }
    feeds.lr = float32([], [lr]);
    feeds.step = float32([], [this.#step + 1]);
    const out = await this.#session.run(feeds);
    for (const s of paramSpecs(this.config)) {
      this.#weights.set(s.name, out[TRAIN_NAMES.out(s.name)]!);
      this.#m.set(s.name, out[TRAIN_NAMES.out(TRAIN_NAMES.m(s.name))]!);
      this.#v.set(s.name, out[TRAIN_NAMES.out(TRAIN_NAMES.v(s.name))]!);
    }
    this.#step++;
    const metrics: StepMetrics = {};
    for (const name of OBJECTIVE_OUTPUTS[this.#kind]) metrics[name] = Number(out[name]!.data[0]);
    return metrics;
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}

function toInt64(src: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
  return out;
}
