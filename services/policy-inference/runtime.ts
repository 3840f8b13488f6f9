/**
 * Wiring of the serving runtime from the config: the tokenizer and chat template (request side),
 * the decoding side (ServingCore: engine, scheduler, swaps) on the engine worker thread or on
 * the main thread, the served models, the swap of bus updates and the metrics.
 */
import type { Metrics } from "@parlmt/log";
import type { WeightsUpdate } from "@parlmt/nats";
import type { BpeTokenizer } from "@parlmt/tokenizer";
import { type PolicyConfig, prefillThreadsOf } from "./config.ts";
import { EngineThread } from "./engine_thread.ts";
import { EngineReplicas } from "./replicas.ts";
import { ExternalModel } from "./external_backend.ts";
import { ModelRegistry, OnnxModel, type ServedModel } from "./onnx_model.ts";
import type { RequestLimits } from "./request.ts";
import type { ServerStats } from "./server.ts";
import {
  type CoreOptions,
  type EngineBackend,
  exists,
  readTokenizer,
  ServingCore,
  tokenizerPath,
} from "./serving_core.ts";
import type { WeightsState } from "./weights_watcher.ts";

/** The loaded runtime. */
export interface Runtime {
  readonly models: ModelRegistry;
  readonly stats: ServerStats;
  /** Verifies, canaries and installs a bus update; throws to refuse it. */
  apply(update: WeightsUpdate): Promise<void>;
  close(): Promise<void>;
}

/** Loads everything the config names. */
export async function loadRuntime(
  config: PolicyConfig,
  weights: WeightsState,
  metrics?: Metrics,
): Promise<Runtime> {
  const path = await tokenizerPath(config);
  const tokenizer: BpeTokenizer | undefined = path ? await readTokenizer(path) : undefined;
  let chatTemplate: string | undefined;
  const tcPath = `${config.modelDir}/tokenizer_config.json`;
  if (config.modelDir && await exists(tcPath)) {
    const tc = JSON.parse(await Deno.readTextFile(tcPath));
    if (typeof tc.chat_template === "string") chatTemplate = tc.chat_template;
  }
  const core: CoreOptions = {
    tokenizer: config.tokenizer,
    modelDir: config.modelDir,
    weightsFile: config.weightsFile,
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    retainVersions: config.retainVersions,
    intraOpThreads: config.intraOpThreads,
    prefillThreads: prefillThreadsOf(config),
    intraOpSpinning: config.intraOpSpinning,
    canaryTolerance: config.canaryTolerance,
    requireCanary: config.requireCanary,
  };
  // On the worker the loop's only I/O is messages: two turns after a step let them in.
  if (config.engineThread === "main" && config.engineReplicas > 1) {
    throw new RangeError(
      `Cannot run ${config.engineReplicas} engine replicas on the main thread: use --engine-thread worker`,
    );
  }
  const backend: EngineBackend = config.engineThread === "main"
    ? await ServingCore.load(core)
    : config.engineReplicas > 1
    ? await EngineReplicas.start(config.engineReplicas, { ...core, ioTurns: 2 })
    : await EngineThread.start({ ...core, ioTurns: 2 });
  const initial = backend.current;
  if (initial) {
    weights.version = initial.version;
    weights.meta = { config: initial.configJson };
    weights.lastSwap = "ok";
  }
  const limits: RequestLimits = {
    maxNewTokens: config.maxNewTokens,
    defaultMaxTokens: config.defaultMaxTokens,
    maxStopStrings: config.maxStopStrings,
    maxPromptTokens: config.maxPromptTokens,
  };
  const served: ServedModel[] = [
    new OnnxModel({ id: config.modelId, scheduler: backend, limits, tokenizer, chatTemplate }),
  ];
  if (config.externalBaseUrl) {
    served.push(
      new ExternalModel({
        id: config.externalModelId,
        baseUrl: config.externalBaseUrl,
        model: config.externalModel,
        apiKey: config.externalApiKey,
        timeoutMs: config.externalTimeoutMs,
        limits,
      }),
    );
  }
  const swaps = metrics?.counter("policy_weights_swaps_total", "Weights updates by outcome", [
    "outcome",
  ]);
  const tokens = metrics?.gauge("policy_tokens_generated", "Tokens generated since start");
  const queue = metrics?.gauge("policy_queue_depth", "Requests waiting for a slot");
  const active = metrics?.gauge("policy_active_requests", "Requests being decoded");
  const stats: ServerStats = {
    queueDepth: () => backend.queueDepth,
    activeRequests: () => backend.activeRequests,
    tokensGenerated: () => backend.tokensGenerated,
  };
  backend.onStep = () => {
    tokens?.set(backend.tokensGenerated);
    queue?.set(backend.queueDepth);
    active?.set(backend.activeRequests);
  };
  return {
    models: new ModelRegistry(served),
    stats,
    async apply(update) {
      let configJson;
      try {
        configJson = await backend.apply(update.version, update.bytes, update.meta);
      } catch (err) {
        swaps?.inc({ outcome: (err as Error).name === "CanaryError" ? "rolled_back" : "rejected" });
        throw err;
      }
      swaps?.inc({ outcome: "ok" });
      update.meta = { ...update.meta, config: configJson };
    },
    async close() {
      await backend.close();
    },
  };
}
