/** env-simulator configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const ENV_CONFIG_SPEC = {
  ...commonFields({ port: 50051, adminPort: 9101 }),
  maxSessions: { type: "integer", default: 10_000, doc: "Most sessions open at once", min: 1 },
  sessionTtlMs: {
    type: "integer",
    default: 30 * 60 * 1000,
    doc: "Idle time after which a session is closed",
    min: 1000,
  },
  maxTaskJsonChars: {
    type: "integer",
    default: 4_000_000,
    doc: "Largest inline task accepted by CreateSession",
    min: 1000,
  },
  maxCallChars: {
    type: "integer",
    default: 262_144,
    doc: "Largest call text (or arguments_json) accepted by Execute",
    min: 100,
  },
  userBaseUrl: {
    type: "string",
    default: "",
    doc:
      "τ-bench: OpenAI-compatible endpoint of the simulated user (empty: requests must name one)",
  },
  userModel: { type: "string", default: "gpt-4o", doc: "τ-bench: model of the simulated user" },
  userApiKey: { type: "string", default: "", doc: "τ-bench: API key of the user endpoint" },
  tauMaxSteps: {
    type: "integer",
    default: 30,
    doc: "τ-bench: agent steps before an episode ends",
    min: 1,
    max: 1000,
  },
} as const;

/** The resolved configuration. */
export type EnvConfig = ConfigOf<typeof ENV_CONFIG_SPEC>;
