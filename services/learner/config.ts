/** learner configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const LEARNER_CONFIG_SPEC = {
  ...commonFields({ port: 50054, adminPort: 9104 }),
  natsUrl: {
    type: "string",
    default: "nats://127.0.0.1:4222",
    doc: "NATS server(s) of the weights bus",
  },
  dataDir: {
    type: "string",
    default: ".local/learner",
    doc: "Trajectory log, checkpoints and metrics.jsonl live here",
  },
  tasksFile: {
    type: "string",
    default: "",
    doc: "Curriculum: a JSONL file of parlmt.v1.Task (proto JSON); empty: no tasks to lease",
  },
  epochs: {
    type: "integer",
    default: 0,
    doc: "Passes over the task file (0: cycle forever)",
    min: 0,
  },
  groupSize: {
    type: "integer",
    default: 4,
    doc: "Rollouts per task (the GRPO group)",
    min: 1,
    max: 256,
  },
  leaseTtlMs: { type: "integer", default: 60_000, doc: "Lease lifetime without renewal", min: 100 },
  maxStaleness: {
    type: "integer",
    default: 4,
    doc: "Drop trajectories whose oldest token is this many weights versions old",
    min: 0,
  },
  initModel: {
    type: "string",
    default: "",
    doc: "Weights blob to start PAG-RL from (e.g. the SFT model.safetensors); empty: no training",
  },
  trainBatchSize: {
    type: "integer",
    default: 8,
    doc: "Sequences per policy update batch",
    min: 1,
    max: 1024,
  },
  trainSeqLen: {
    type: "integer",
    default: 256,
    doc: "Tokens per training sequence (≤ the model's context)",
    min: 2,
  },
  trainBuckets: {
    type: "list",
    default: [],
    doc:
      "Shorter padded lengths to train at (length buckets; empty: the quarters of train-seq-len)",
  },
  lr: { type: "number", default: 1e-5, doc: "Learning rate of the policy update", min: 0, max: 1 },
  estimator: {
    type: "string",
    default: "grpo",
    doc: "Advantage estimator",
    choices: ["grpo", "dr_grpo", "rloo"],
  },
  filterZeroVariance: {
    type: "boolean",
    default: true,
    doc: "Skip groups whose rewards are all equal",
  },
  turnLevelWeight: {
    type: "number",
    default: 0,
    doc: "Weight of the per-turn group baseline",
    min: 0,
  },
  advantageWeighting: {
    type: "string",
    default: "token",
    doc:
      "How an update weighs its episodes: token (each generated token once) or episode (each episode the same, its advantage spread over its tokens)",
    choices: ["token", "episode"],
  },
  rewardWeights: {
    type: "string",
    default: "",
    doc:
      "Overrides of the arm's reward weights, e.g. format=0,alignment=0.5 (terms: success, turn_checks, call_f1, format, redundancy, alignment)",
  },
  klCoef: { type: "number", default: 0, doc: "k3 KL coefficient to the reference policy", min: 0 },
  groupsPerStep: { type: "integer", default: 1, doc: "Complete groups per update", min: 1 },
  updateEpochs: {
    type: "integer",
    default: 1,
    doc:
      "Passes over each update's samples (PPO epochs; the ratio is clipped against the behaviour policy)",
    min: 1,
    max: 16,
  },
  emaDecay: {
    type: "number",
    default: 0,
    doc:
      "Keep a running average (EMA over updates) of the weights with this decay, published as the final policy by FinishTraining; 0 keeps none",
    min: 0,
    max: 0.9999,
  },
  publishEvery: { type: "integer", default: 1, doc: "Publish weights every K updates", min: 1 },
  checkpointEvery: { type: "integer", default: 10, doc: "Checkpoint every N updates", min: 1 },
  sftData: {
    type: "string",
    default: "",
    doc: "Arm sft: SFT data directory (train.jsonl) trained at equal compute instead of RL",
  },
  tokenizer: {
    type: "string",
    default: "",
    doc: "Arm sft: the model's tokenizer.json, to encode the SFT data",
  },
  seed: { type: "integer", default: 1, doc: "Seed of the training loop's PRNG", min: 0 },
  arm: {
    type: "string",
    default: "pag-rl",
    doc: "Training recipe",
    choices: ["sft", "mt-grpo", "pag+mt-grpo", "pag-rl"],
  },
} as const;

/** The resolved configuration. */
export type LearnerConfig = ConfigOf<typeof LEARNER_CONFIG_SPEC>;

/**
 * The length buckets of `--train-buckets` (integers in [2, seqLen]); none given: the quarters of
 * `seqLen`, rounded up to a multiple of 8.
 */
export function bucketLengths(values: readonly string[], seqLen: number): number[] {
  if (values.length === 0) {
    return [1, 2, 3].map((q) => Math.ceil(seqLen * q / 4 / 8) * 8).filter((t) => t < seqLen);
  }
  return values.map((v) => {
    const t = Number(v);
    if (!Number.isInteger(t) || t < 2 || t > seqLen) {
      throw new RangeError(
        `Invalid flag "--train-buckets": "${v}" must be an integer in [2, ${seqLen}] (--train-seq-len)`,
      );
    }
    return t;
  });
}
