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
}

const CHECKPOINT = "checkpoint.safetensors";

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
    if (checkpoint) {
      logger.info("Resumed from checkpoint", {
        step: loop.step,
        weightsVersion: loop.weightsVersion,
      });
    }
    await loop.#publish();
    return loop;
  }

  /** Trains whenever enough groups are ready, until `signal` aborts; then checkpoints. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
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

  /** Writes the checkpoint, then marks what it includes as consumed. */
  async checkpoint(): Promise<void> {
    await saveCheckpoint(`${this.#opts.dir}/${CHECKPOINT}`, {
      config: this.#config,
      weights: this.#trainer.weights,
      m: this.#trainer.m,
      v: this.#trainer.v,
      step: this.#trainer.step,
      rngState: this.#rng.state,
      extra: { weightsVersion: this.weightsVersion.toString(), learnerStep: this.step },
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

  async #publish(): Promise<void> {
    this.weightsVersion++;
    this.#coordinator.weightsVersion = this.weightsVersion;
    if (!this.#opts.publisher) return;
    const weights = this.#trainer.weights;
    const meta = await canaryMeta(this.#config, weights, this.#opts.canaryIds);
    await this.#opts.publisher.publish(
      this.weightsVersion,
      encodeWeights(this.#config, weights, Number(this.weightsVersion)),
      { ...meta, step: String(this.step) },
    );
  }
}
