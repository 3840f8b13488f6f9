/**
 * Trainer: owns a training-step session, the weights and the AdamW moments; step() feeds one
 * batch and swaps in the updated tensors. One session.run per step.
 */
import { float32, type HostTensor, hostTensor } from "@parlmt/onnx";
import { Session, type SessionOptions } from "@parlmt/ort";
import type { ModelConfig } from "./config.ts";
import {
  buildTrainGraph,
  LOSS_ROWS,
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
  #sparse: boolean;
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
    this.#sparse = opts.sparseLoss ?? false;
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
    }
    // Sparse loss: the per-token fields at the masked positions only (one masked-out row when
    // none is set, so the loss is 0 rather than an empty tensor).
    let rows: number[] | undefined;
    if (this.#sparse) {
      const mask = batch.loss_mask!;
      rows = [];
      for (let i = 0; i < B * T; i++) if (mask[i] !== 0) rows.push(i);
      if (rows.length === 0) rows.push(0);
      feeds[LOSS_ROWS] = hostTensor("int64", [rows.length], toInt64(rows));
    }
    for (const name of OBJECTIVE_INPUTS[this.#kind]) {
      let src = batch[name]!;
      let dims = [B, T];
      if (rows && name !== "input_ids") {
        const full = src;
        src = rows.map((i) => full[i]!);
        dims = [rows.length];
      }
      feeds[name] = name === "input_ids" || name === "targets"
        ? hostTensor("int64", dims, toInt64(src))
        : hostTensor("float32", dims, Float32Array.from(src));
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

/** Options of {@linkcode TrainerBuckets.create}: `seqLen` is the longest bucket. */
export interface TrainerBucketsOptions extends TrainerOptions {
  /** Padded lengths to train at (each in [2, seqLen]); `seqLen` is always one. */
  readonly lengths?: readonly number[];
}

/**
 * Trainers of one model for several padded lengths (length buckets) that share one state: a
 * batch runs in the shortest bucket that holds it, so short sequences do not pay for the
 * longest. Each bucket's session is built on first use; weights, moments and step count pass
 * from one bucket to the next without copies.
 */
export class TrainerBuckets {
  readonly config: ModelConfig;
  /** Bucket lengths, ascending; the last is `seqLen`. */
  readonly lengths: readonly number[];
  readonly batchSize: number;
  #opts: TrainerBucketsOptions;
  #trainers = new Map<number, Trainer>();
  #current: Trainer;

  private constructor(first: Trainer, lengths: number[], opts: TrainerBucketsOptions) {
    this.config = first.config;
    this.lengths = lengths;
    this.batchSize = first.batchSize;
    this.#opts = opts;
    this.#trainers.set(first.seqLen, first);
    this.#current = first;
  }

  /** Builds the longest bucket's trainer; the others are built when first needed. */
  static async create(
    config: ModelConfig,
    weights: Weights,
    opts: TrainerBucketsOptions,
  ): Promise<TrainerBuckets> {
    const max = opts.seqLen;
    for (const t of opts.lengths ?? []) {
      if (!Number.isInteger(t) || t < 2 || t > max) {
        throw new RangeError(`Cannot use bucket length ${t}: must be an integer in [2, ${max}]`);
      }
    }
    const lengths = [...new Set([...(opts.lengths ?? []), max])].sort((a, b) => a - b);
    return new TrainerBuckets(await Trainer.create(config, weights, opts), lengths, opts);
  }

  /** The longest bucket. */
  get seqLen(): number {
    return this.lengths.at(-1)!;
  }
  /** The shortest bucket that holds `length` positions (the longest when none does). */
  bucketFor(length: number): number {
    return this.lengths.find((t) => t >= length) ?? this.seqLen;
  }

  /** The trainer of bucket `bucketFor(length)`, holding the shared state. */
  async trainerFor(length: number): Promise<Trainer> {
    const T = this.bucketFor(length);
    const cur = this.#current;
    let trainer = this.#trainers.get(T);
    if (!trainer) {
      trainer = await Trainer.create(this.config, cur.weights, {
        ...this.#opts,
        seqLen: T,
        m: cur.m,
        v: cur.v,
        step: cur.step,
      });
      this.#trainers.set(T, trainer);
    } else if (trainer !== cur) {
      trainer.loadState(cur);
    }
    this.#current = trainer;
    return trainer;
  }

  /** Current weights (of the bucket that trained last). */
  get weights(): Weights {
    return this.#current.weights;
  }
  get m(): Weights {
    return this.#current.m;
  }
  get v(): Weights {
    return this.#current.v;
  }
  get step(): number {
    return this.#current.step;
  }

  /** Releases every bucket's session. */
  async dispose(): Promise<void> {
    for (const t of this.#trainers.values()) await t.dispose();
    this.#trainers.clear();
  }
}
