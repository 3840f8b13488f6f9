/** policy-inference configuration. */
import type { ConfigOf } from "@parlmt/config";
import { commonFields } from "@parlmt/service";

/** Every field, with its default and doc (flags, env names and --help derive from these). */
export const POLICY_CONFIG_SPEC = {
  ...commonFields({ port: 50053, adminPort: 9103 }),
  natsUrl: {
    type: "string",
    default: "nats://127.0.0.1:4222",
    doc: "NATS server(s) of the weights bus (empty: do not subscribe)",
  },
  modelId: { type: "string", default: "parlmt-policy", doc: "Id of the served model" },
  weightsFile: {
    type: "string",
    default: "",
    doc: "Weights blob (safetensors with config) served until the bus announces a newer version",
  },
  modelDir: {
    type: "string",
    default: "",
    doc:
      "Serve an exported decoder folder (model.onnx with HF/Optimum names, config.json, tokenizer.json) instead of bus weights",
  },
  tokenizer: {
    type: "string",
    default: "",
    doc: "tokenizer.json of the built-in model (needed for chat prompts, text and stop strings)",
  },
  maxBatch: { type: "integer", default: 32, doc: "Requests decoded together", min: 1, max: 1024 },
  maxQueue: {
    type: "integer",
    default: 256,
    doc: "Requests waiting for a slot; more get RESOURCE_EXHAUSTED",
    min: 0,
  },
  retainVersions: {
    type: "integer",
    default: 1,
    doc: "Replaced weights versions kept for requests pinned to them",
    min: 0,
    max: 8,
  },
  maxNewTokens: { type: "integer", default: 1024, doc: "Largest max_tokens accepted", min: 1 },
  defaultMaxTokens: {
    type: "integer",
    default: 128,
    doc: "max_tokens of a request that leaves it 0",
    min: 1,
  },
  maxPromptTokens: {
    type: "integer",
    default: 0,
    doc: "Longest prompt in tokens (0: the model's context less one)",
    min: 0,
  },
  maxStopStrings: { type: "integer", default: 8, doc: "Most stop strings per request", min: 0 },
  canaryTolerance: {
    type: "number",
    default: 1e-3,
    doc: "Largest |served - published| canary logprob sum before a swap is rolled back",
    min: 0,
  },
  requireCanary: {
    type: "boolean",
    default: false,
    doc: "Refuse weights versions whose announcement carries no canary",
  },
  intraOpThreads: {
    type: "integer",
    default: 1,
    doc:
      "onnxruntime threads per op (1: the other cores stay free for RPC and sampling, which serves more when they are few)",
    min: 1,
  },
  prefillThreads: {
    type: "integer",
    default: 0,
    doc:
      "onnxruntime threads per op of prefills (prompts: GEMMs large enough for threads to pay; a second session when it differs from --intra-op-threads). 0: the cores shared out among the engine replicas, at least --intra-op-threads",
    min: 0,
  },
  intraOpSpinning: {
    type: "boolean",
    default: false,
    doc:
      "Let onnxruntime's threads spin between runs (off: they sleep, leaving the cores to request handling)",
  },
  engineReplicas: {
    type: "integer",
    default: 1,
    min: 1,
    doc:
      "Engine threads decoding side by side, each with its own sessions and a share of --max-batch (data parallel; needs --engine-thread worker)",
  },
  engineThread: {
    type: "string",
    default: "worker",
    choices: ["worker", "main"],
    doc:
      "Where decoding runs: a worker thread (requests are handled while a step runs) or the main thread",
  },
  openaiHttp: {
    type: "boolean",
    default: true,
    doc: "Serve the OpenAI-compatible API (/v1/chat/completions, /v1/models) on the admin port",
  },
  maxHttpBodyBytes: {
    type: "integer",
    default: 4 * 1024 * 1024,
    doc: "Largest HTTP request body",
    min: 1024,
  },
  externalBaseUrl: {
    type: "string",
    default: "",
    doc: "OpenAI-compatible server to forward to, e.g. http://host:8000/v1 (empty: none)",
  },
  externalModel: { type: "string", default: "", doc: "Model name sent to the external server" },
  externalApiKey: { type: "string", default: "", doc: "Bearer key of the external server" },
  externalModelId: {
    type: "string",
    default: "external",
    doc: "Id under which the external model is served here",
  },
  externalTimeoutMs: {
    type: "integer",
    default: 120_000,
    doc: "Deadline of one external request",
    min: 1,
  },
} as const;

/** The resolved configuration. */
export type PolicyConfig = ConfigOf<typeof POLICY_CONFIG_SPEC>;

/**
 * Prefill threads per engine: `--prefill-threads`, or when 0 the machine's cores shared out
 * among the engine replicas (never fewer than the decode threads). A prefill's GEMMs gain from
 * a second thread, but replicas that each prefill on every core oversubscribe it: on two cores,
 * two replicas with two prefill threads each served 8% less at 32 clients than with one
 * (docs/policy-inference.md).
 */
export function prefillThreadsOf(
  config: Pick<PolicyConfig, "prefillThreads" | "engineReplicas" | "intraOpThreads">,
  cores: number = navigator.hardwareConcurrency,
): number {
  if (config.prefillThreads > 0) return config.prefillThreads;
  const share = Math.floor(cores / Math.max(1, config.engineReplicas));
  return Math.max(config.intraOpThreads, share, 1);
}
