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
  arm: {
    type: "string",
    default: "pag-rl",
    doc: "Training recipe",
    choices: ["sft", "mt-grpo", "pag+mt-grpo", "pag-rl"],
  },
} as const;

/** The resolved configuration. */
export type LearnerConfig = ConfigOf<typeof LEARNER_CONFIG_SPEC>;
