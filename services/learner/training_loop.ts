/**
 * The learner's training loop: take complete groups from the coordinator, run a PAG-RL update
 * on them, log the scalars, publish the weights every K steps (with the canary logprob the
 * policy server checks), and checkpoint every N steps. Trajectories are marked consumed only
 * after the checkpoint that includes their update is on disk, so a crash at any point re-trains
 * exactly the updates that were lost and never skips or double-applies one.
 */
import {
  canaryMeta,
  type Checkpoint,
  decodeWeights,
  encodeWeights,
  loadCheckpoint,
  LogprobScorer,
  type ModelConfig,
  saveCheckpoint,
  Trainer,
  type Weights,
} from "@parlmt/model";
import type { Logger } from "@parlmt/log";
import type { WeightsPublisher } from "@parlmt/nats";
import type { Coordinator } from "./coordinator.ts";
import { type ReadyGroup, rlStep, type RlStepOptions } from "./rl_step.ts";
import type { ScalarLog } from "./scalar_log.ts";

/** Options of {@linkcode TrainingLoop.open}. */
export interface TrainingLoopOptions extends Omit<RlStepOptions, "lr"> {
  /** Checkpoint folder. */
  dir: string;
  /** A weights blob to start from when no checkpoint exists (e.g. the SFT model). */
  initModel: Uint8Array;
  batchSize: number;
  seqLen: number;
  lr: number;
  klCoef: number;
  /** Groups per update. */
  groupsPerStep: number;
  publishEvery: number;
  checkpointEvery: number;
  /** Token ids of the canary prompt. */
  canaryIds: readonly number[];
  publisher?: WeightsPublisher;
}

const CHECKPOINT = "checkpoint.safetensors";

/** The training state and loop of one learner. */
export class TrainingLoop {
  step = 0;
  weightsVersion = 0n;
  #trainer: Trainer;
  #config: ModelConfig;
  #opts: TrainingLoopOptions;
  #coordinator: Coordinator;
  #scalars: ScalarLog;
  #logger: Logger;
  #pending: ReadyGroup[] = [];
  #trained: string[] = [];

  private constructor(
    trainer: Trainer,
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
      const { config, weights } = decodeWeights(opts.initModel);
      const extra: Readonly<Record<string, unknown>> = {};
      return { config, weights, m: undefined, v: undefined, step: 0, extra };
    })();
    const trainer = await Trainer.create(init.config, init.weights as Weights, {
      batchSize: opts.batchSize,
      seqLen: opts.seqLen,
      objective: { kind: "policy", klCoef: opts.klCoef },
      m: init.m,
      v: init.v,
      step: init.step,
    });
    // The reference policy of the KL term: the starting model (the SFT policy), kept frozen.
    const reference = opts.klCoef > 0
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
      const scalars = await rlStep(this.#trainer, groups, this.#opts);
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
      rngState: [],
      extra: { weightsVersion: this.weightsVersion.toString(), learnerStep: this.step },
    });
    const consumed = this.#trained.splice(0);
    if (consumed.length > 0) await this.#coordinator.markConsumed(consumed);
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
