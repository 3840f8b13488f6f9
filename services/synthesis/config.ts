/** synthesis configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const SYNTHESIS_CONFIG_SPEC = {
  ...commonFields({ port: 50052, adminPort: 9102 }),
  maxTasksPerRequest: {
    type: "integer",
    default: 10_000,
    doc: "Most tasks one GenerateTasks or BuildDataset request may ask for",
    min: 1,
  },
  maxAnnotateTurns: {
    type: "integer",
    default: 100,
    doc: "Most turns of a task or trajectory that Annotate accepts",
    min: 1,
  },
  policyApiKey: {
    type: "string",
    default: "",
    doc: "Bearer token for the policy_url of Annotate's model-aware check (empty: none)",
  },
  endpointTimeoutMs: {
    type: "integer",
    default: 60_000,
    doc: "Timeout of one request to a policy or writer endpoint",
    min: 1,
  },
  writerUrl: {
    type: "string",
    default: "",
    doc:
      "LLM writer for BuildDataset: base URL of an OpenAI-compatible endpoint (empty: off, deterministic)",
  },
  writerModel: { type: "string", default: "", doc: "Model name sent to writerUrl" },
  writerApiKey: { type: "string", default: "", doc: "Bearer token for writerUrl (empty: none)" },
} as const;

/** The resolved configuration. */
export type SynthesisConfig = ConfigOf<typeof SYNTHESIS_CONFIG_SPEC>;
