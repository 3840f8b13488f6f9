/** rollout-actor configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const ACTOR_CONFIG_SPEC = {
  ...commonFields({ port: 50055, adminPort: 9105 }),
  learnerAddress: { type: "string", default: "127.0.0.1:50054", doc: "Learner gRPC address" },
  envAddress: { type: "string", default: "127.0.0.1:50051", doc: "env-simulator gRPC address" },
  policyAddress: {
    type: "string",
    default: "127.0.0.1:50053",
    doc: "policy-inference gRPC address",
  },
  actorId: {
    type: "string",
    default: "",
    doc: "This actor's id (empty: host name and process id)",
  },
  concurrency: {
    type: "integer",
    default: 8,
    doc: "Episodes in flight at once",
    min: 1,
    max: 1024,
  },
  temperature: {
    type: "number",
    default: 1,
    doc: "Sampling temperature (0: greedy)",
    min: 0,
    max: 10,
  },
  topP: { type: "number", default: 1, doc: "Nucleus sampling mass", min: 0, max: 1 },
  maxTokens: { type: "integer", default: 256, doc: "Tokens per generation", min: 1, max: 32768 },
  toolDocs: {
    type: "string",
    default: "brief",
    doc: "Tool docs sent to the policy, as its SFT data listed them",
    choices: ["full", "brief", "signature"],
  },
  constrained: {
    type: "boolean",
    default: false,
    doc: "Ask the policy for parseable turn-format output",
  },
  maxEpisodes: {
    type: "integer",
    default: 0,
    doc: "Stop after this many episodes (0: run until SIGTERM)",
    min: 0,
  },
  rpcTimeoutMs: { type: "integer", default: 120_000, doc: "Deadline of each RPC", min: 100 },
  learnerBackoffMaxMs: {
    type: "integer",
    default: 5000,
    doc: "Longest wait between retries of a learner call that found it unavailable",
    min: 10,
  },
} as const;

/** The resolved configuration. */
export type ActorConfig = ConfigOf<typeof ACTOR_CONFIG_SPEC>;
