/**
 * The learner's training loop: take complete groups from the coordinator, run a PAG-RL update
 * on them, log the scalars, publish the weights every K steps (with the canary logprob the
 * policy server checks), and checkpoint every N steps. Trajectories are marked consumed only
 * after the checkpoint that includes their update is on disk, so a crash at any point re-trains
 * exactly the updates that were lost and never skips or double-applies one.
 *
 * The `sft` arm keeps the same loop at equal compute: the groups are scored and logged, but
 * each update trains as many supervised batches of the SFT data as the policy update would have
 * had batches. The loop's PRNG (sample order, SFT batch order) is saved in every checkpoint.
 *
 * With `averageDecay` the loop also keeps a running average of the weights over updates (an EMA
 * whose decay ramps up as min(decay, 1 - 1/n) after n updates, so the first update is copied and
 * the early ones are averaged evenly), checkpointed with the rest. `finish()` ends training and
 * publishes that average as the final policy: the last iterate of a few dozen noisy policy-
 * gradient updates is one draw, their average a steadier model (docs/rl-findings.md).
 */
import {
  canaryMeta,
  type Checkpoint,
  decodeWeights,
  encodeWeights,
  loadCheckpoint,
  LogprobScorer,
  type ModelConfig,
  Prng,
  saveCheckpoint,
  TrainerBuckets,
  type Weights,
} from "@parlmt/model";
import type { Logger } from "@parlmt/log";
import type { WeightsPublisher } from "@parlmt/nats";
import type { Coordinator } from "./coordinator.ts";
import { type ReadyGroup, type RlStepOptions, scoreGroups, trainPolicy } from "./rl_step.ts";
import { type EncodedExample, padBatch } from "./sft_data.ts";
import type { ScalarLog } from "./scalar_log.ts";

/** Options of {@linkcode TrainingLoop.open}. */
export interface TrainingLoopOptions extends Omit<RlStepOptions, "lr"> {
  /** Checkpoint folder. */
  dir: string;
  /** A weights blob to start from when no checkpoint exists (e.g. the SFT model). */
  initModel: Uint8Array;
  batchSize: number;
  /** The longest training sequence. */
  seqLen: number;
  /** Shorter padded lengths to train at (length buckets); default none. */
  bucketLengths?: readonly number[];
  lr: number;
  klCoef: number;
  /** Groups per update. */
  groupsPerStep: number;
  /** Passes over each update's samples, reshuffled each time (PPO epochs). @default 1 */
  updateEpochs?: number;
  publishEvery: number;
  checkpointEvery: number;
  /** Token ids of the canary prompt. */
  canaryIds: readonly number[];
  publisher?: WeightsPublisher;
  /** Seed of the loop's PRNG (used when no checkpoint restores its state). */
  seed?: number;
  /** The `sft` arm: supervised rows (at most `seqLen` long) trained instead of the policy loss. */
  sft?: { rows: readonly EncodedExample[] };
  /**
   * Decay of the running average of the weights over updates, in [0, 1): 0 keeps none, and
   * `finish()` publishes the last weights. @default 0
   */
  averageDecay?: number;
}

const CHECKPOINT = "checkpoint.safetensors";
/** The averaged weights `finish()` writes beside the checkpoint, as a servable weights blob. */
export const AVERAGE_MODEL = "average.safetensors";

/** What `finish()` published. */
export interface FinishResult {
  readonly step: number;
  readonly weightsVersion: bigint;
  /** True when the published weights are the running average. */
  readonly averaged: boolean;
}

/** The training state and loop of one learner. */
export class TrainingLoop {
  step = 0;
  weightsVersion = 0n;
  #trainer: TrainerBuckets;
  #config: ModelConfig;
  #opts: TrainingLoopOptions;
  #coordinator: Coordinator;
  #scalars: ScalarLog;
  #logger: Logger;
  #pending: ReadyGroup[] = [];
  #trained: string[] = [];
  #rng: Prng;
  #sftOrder: number[] = [];
  /** The running average of the weights, and how many updates it holds. */
  #average: Map<string, Float32Array> | undefined;
  #averaged = 0;
  #finishing = false;
  #finished: Promise<FinishResult> | undefined;
  #running: Promise<void> | undefined;

  private constructor(
    trainer: TrainerBuckets,
    config: ModelConfig,
    opts: TrainingLoopOptions,
    coordinator: Coordinator,
    scalars: ScalarLog,
    logger: Logger,
  ) {
    this.#trainer = trainer;
    this.#config = config;
    this.#opts = opts;
    this.#coordinator = coordinator;
    this.#scalars = scalars;
    this.#logger = logger;
    this.#rng = new Prng(opts.seed ?? 1);
  }

  /** Resumes from the checkpoint in `dir`, or starts from `initModel`; publishes the weights. */
  static async open(
    opts: TrainingLoopOptions,
    coordinator: Coordinator,
    scalars: ScalarLog,
    logger: Logger,
  ): Promise<TrainingLoop> {
    const decay = opts.averageDecay ?? 0;
    if (!(decay >= 0 && decay < 1)) {
      throw new RangeError(`Cannot average weights with decay ${decay}: must be in [0, 1)`);
    }
    let checkpoint: Checkpoint | undefined;
    try {
      checkpoint = await loadCheckpoint(`${opts.dir}/${CHECKPOINT}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const init = checkpoint ?? (() => {
      // Versions go on from the starting model's (an SFT model carries its step count): a
      // policy server that already serves that file ignores any version not above it.
      const { config, weights, version } = decodeWeights(opts.initModel);
      const extra: Readonly<Record<string, unknown>> = { weightsVersion: version };
      return { config, weights, m: undefined, v: undefined, step: 0, extra };
    })();
    const trainer = await TrainerBuckets.create(init.config, init.weights as Weights, {
      batchSize: opts.batchSize,
      seqLen: opts.seqLen,
      lengths: opts.bucketLengths,
      objective: opts.sft ? undefined : { kind: "policy", klCoef: opts.klCoef },
      sparseLoss: true, // the LM head only on the policy's own tokens
      m: init.m,
      v: init.v,
      step: init.step,
    });
    // The reference policy of the KL term: the starting model (the SFT policy), kept frozen.
    const reference = opts.klCoef > 0 && !opts.sft
      ? await LogprobScorer.create(init.config, { weights: decodeWeights(opts.initModel).weights })
      : undefined;
    const loopOpts: TrainingLoopOptions = reference
      ? {
        ...opts,
        referenceLogprobs: (batch, B) => reference.score(B, batch.input_ids!, batch.targets!),
      }
      : opts;
    const loop = new TrainingLoop(trainer, init.config, loopOpts, coordinator, scalars, logger);
    loop.step = init.step;
    loop.weightsVersion = BigInt(String(init.extra.weightsVersion ?? 0));
    if (checkpoint?.rngState.length === 4) loop.#rng.state = checkpoint.rngState;
    if ((opts.averageDecay ?? 0) > 0 && checkpoint?.average) {
      loop.#average = new Map(
        [...checkpoint.average].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]),
      );
      loop.#averaged = Number(checkpoint.extra.averagedUpdates ?? 1);
    }
    if (checkpoint) {
      logger.info("Resumed from checkpoint", {
        step: loop.step,
        weightsVersion: loop.weightsVersion,
      });
    }
    await loop.#publish();
    return loop;
  }

  /** Trains whenever enough groups are ready, until `signal` aborts or `finish()`; checkpoints. */
  run(signal: AbortSignal): Promise<void> {
    this.#running ??= this.#run(signal);
    return this.#running;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.#finishing) {
      this.#pending.push(...await this.#coordinator.takeReadyGroups());
      if (this.#pending.length < this.#opts.groupsPerStep) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const groups = this.#pending.splice(0, this.#opts.groupsPerStep);
      const started = performance.now();
      const scalars = await this.#update(groups);
      this.step++;
      for (const g of groups) this.#trained.push(...g.trajectories.map((t) => t.id));
      scalars["perf/step_ms"] = performance.now() - started;
      this.#updateAverage();
      if (this.step % this.#opts.publishEvery === 0) await this.#publish();
      scalars["charts/weights_version"] = Number(this.weightsVersion);
      this.#scalars.record(this.step, scalars, Number(this.weightsVersion));
      this.#logger.info("Training step", {
        step: this.step,
        weightsVersion: this.weightsVersion,
        ...scalars,
      });
      if (this.step % this.#opts.checkpointEvery === 0) await this.checkpoint();
    }
    await this.checkpoint();
  }

  /**
   * Ends training: lets the update in progress complete, checkpoints, and publishes the final
   * policy under a new version: the running average of the weights when one is kept (also
   * written to `AVERAGE_MODEL` in the folder), else the last weights. Idempotent.
   */
  finish(): Promise<FinishResult> {
    this.#finished ??= (async () => {
      this.#finishing = true;
      await this.#running; // the loop checkpoints as it leaves
      const average = this.#averageWeights();
      await this.#publish(average);
      if (average) {
        await Deno.writeFile(
          `${this.#opts.dir}/${AVERAGE_MODEL}`,
          encodeWeights(this.#config, average, Number(this.weightsVersion)),
        );
      }
      await this.checkpoint(); // the final version survives a restart
      this.#logger.info("Training finished", {
        step: this.step,
        weightsVersion: this.weightsVersion,
        averagedUpdates: this.#averaged,
      });
      return { step: this.step, weightsVersion: this.weightsVersion, averaged: !!average };
    })();
    return this.#finished;
  }

  /** Folds the current weights into the running average (none when `averageDecay` is 0). */
  #updateAverage(): void {
    const decay = this.#opts.averageDecay ?? 0;
    if (decay === 0) return;
    this.#averaged++;
    const d = Math.min(decay, 1 - 1 / this.#averaged);
    this.#average ??= new Map();
    for (const [name, t] of this.#trainer.weights) {
      const x = t.data as Float32Array;
      const y = this.#average.get(name);
      if (!y) {
        this.#average.set(name, Float32Array.from(x));
        continue;
      }
      for (let i = 0; i < x.length; i++) y[i] = d * y[i]! + (1 - d) * x[i]!;
    }
  }

  /** The running average as weights (copies), or undefined when none is kept yet. */
  #averageWeights(): Weights | undefined {
    if (!this.#average) return undefined;
    return new Map(
      [...this.#trainer.weights].map(([name, t]) => [
        name,
        { ...t, data: Float32Array.from(this.#average!.get(name)!) },
      ]),
    );
  }

  /** Writes the checkpoint, then marks what it includes as consumed. */
  async checkpoint(): Promise<void> {
    await saveCheckpoint(`${this.#opts.dir}/${CHECKPOINT}`, {
      config: this.#config,
      weights: this.#trainer.weights,
      m: this.#trainer.m,
      v: this.#trainer.v,
      ...(this.#average ? { average: this.#averageWeights() } : {}),
      step: this.#trainer.step,
      rngState: this.#rng.state,
      extra: {
        weightsVersion: this.weightsVersion.toString(),
        learnerStep: this.step,
        ...(this.#average ? { averagedUpdates: this.#averaged } : {}),
      },
    });
    const consumed = this.#trained.splice(0);
    if (consumed.length > 0) await this.#coordinator.markConsumed(consumed);
  }

  /** One update: the policy loss over the groups' samples, or (arm `sft`) as many SFT batches. */
  async #update(groups: ReadyGroup[]): Promise<Record<string, number>> {
    const { scalars, samples } = scoreGroups(groups, this.#opts);
    const B = this.#trainer.batchSize;
    if (!this.#opts.sft) {
      // Later epochs clip against the behaviour policy, as PPO does; the last epoch's losses
      // are logged (their clip fraction shows how far the epochs moved the policy).
      let losses: Record<string, number> = {};
      for (let e = 0; e < (this.#opts.updateEpochs ?? 1); e++) {
        for (let i = samples.length - 1; i > 0; i--) {
          const j = this.#rng.int(i + 1);
          [samples[i], samples[j]] = [samples[j]!, samples[i]!];
        }
        losses = await trainPolicy(this.#trainer, samples, this.#opts);
      }
      return { ...scalars, ...losses };
    }
    const rows = this.#opts.sft.rows;
    const losses: number[] = [];
    for (let i = 0; i < Math.ceil(samples.length / B); i++) {
      const batch = [];
      while (batch.length < B) {
        if (this.#sftOrder.length === 0) {
          this.#sftOrder = rows.map((_, k) => k);
          for (let k = rows.length - 1; k > 0; k--) {
            const j = this.#rng.int(k + 1);
            [this.#sftOrder[k], this.#sftOrder[j]] = [this.#sftOrder[j]!, this.#sftOrder[k]!];
          }
        }
        batch.push(rows[this.#sftOrder.pop()!]!);
      }
      const step = await this.#trainer.trainerFor(Math.max(...batch.map((r) => r.inputIds.length)));
      const m = await step.trainStep(
        padBatch(batch, B, step.seqLen, this.#opts.padId),
        this.#opts.lr,
      );
      losses.push(m.loss!);
    }
    scalars["losses/sft"] = losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length);
    scalars["perf/samples"] = losses.length * B;
    return scalars;
  }

  /** Publishes `weights` (default the current ones) under the next version. */
  async #publish(weights: Weights = this.#trainer.weights): Promise<void> {
    this.weightsVersion++;
    this.#coordinator.weightsVersion = this.weightsVersion;
    if (!this.#opts.publisher) return;
    const meta = await canaryMeta(this.#config, weights, this.#opts.canaryIds);
    await this.#opts.publisher.publish(
      this.weightsVersion,
      encodeWeights(this.#config, weights, Number(this.weightsVersion)),
      { ...meta, step: String(this.step) },
    );
  }
}
