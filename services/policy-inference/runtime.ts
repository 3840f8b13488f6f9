/**
 * Wiring of the serving runtime from the config: the engine (weights file, model folder, or
 * the bus), the tokenizer and chat template, the scheduler, the served models, the swap of
 * bus updates (decode, canary, install between decode steps) and the metrics.
 */
import type { Metrics } from "@parlmt/log";
import type { WeightsUpdate } from "@parlmt/nats";
import { BpeTokenizer, TURN_TOKENS } from "@parlmt/tokenizer";
import type { PolicyConfig } from "./config.ts";
import { Engine } from "./engine.ts";
import { ExternalModel } from "./external_backend.ts";
import { ModelRegistry, OnnxModel, type ServedModel } from "./onnx_model.ts";
import type { RequestLimits } from "./request.ts";
import { Scheduler } from "./scheduler.ts";
import type { ServerStats } from "./server.ts";
import { loadWeightsEngine } from "./weights_swap.ts";
import type { WeightsState } from "./weights_watcher.ts";

/** The loaded runtime. */
export interface Runtime {
  readonly models: ModelRegistry;
  readonly scheduler: Scheduler;
  readonly stats: ServerStats;
  /** Verifies, canaries and installs a bus update; throws to refuse it. */
  apply(update: WeightsUpdate): Promise<void>;
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Loads everything the config names. */
export async function loadRuntime(
  config: PolicyConfig,
  weights: WeightsState,
  metrics?: Metrics,
): Promise<Runtime> {
  const threads = {
    intraOpNumThreads: config.intraOpThreads,
    spinning: config.intraOpSpinning,
  };
  let tokenizer: BpeTokenizer | undefined;
  let chatTemplate: string | undefined;
  const eosIds: number[] = [];
  let initial: Engine | undefined;
  const tokenizerPath = config.tokenizer ||
    (config.modelDir ? `${config.modelDir}/tokenizer.json` : "");
  if (tokenizerPath && await exists(tokenizerPath)) {
    tokenizer = BpeTokenizer.fromJSON(JSON.parse(await Deno.readTextFile(tokenizerPath)));
  } else if (config.tokenizer) {
    throw new RangeError(`Cannot read --tokenizer "${config.tokenizer}": no such file`);
  }
  if (config.modelDir) {
    initial = await Engine.fromModelDir(config.modelDir, threads);
    eosIds.push(...initial.eosIds);
    const tcPath = `${config.modelDir}/tokenizer_config.json`;
    if (await exists(tcPath)) {
      const tc = JSON.parse(await Deno.readTextFile(tcPath));
      if (typeof tc.chat_template === "string") chatTemplate = tc.chat_template;
      const eos = typeof tc.eos_token === "string" ? tokenizer?.tokenId(tc.eos_token) : undefined;
      if (eos !== undefined) eosIds.push(eos);
    }
  } else if (config.weightsFile) {
    initial = await Engine.fromWeightsBlob(await Deno.readFile(config.weightsFile), threads);
  }
  const end = tokenizer?.tokenId(TURN_TOKENS.end);
  if (end !== undefined && tokenizer?.specialTokens.includes(TURN_TOKENS.end)) eosIds.push(end);
  const scheduler = new Scheduler({
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    retainVersions: config.retainVersions,
    // Ids beyond the tokenizer (a model vocabulary padded past it) decode to nothing.
    codec: tokenizer && {
      decode: (ids: readonly number[]) => tokenizer.decode(ids.filter((i) => i < tokenizer.size)),
    },
    eosIds: [...new Set(eosIds)],
  });
  if (initial) {
    await scheduler.install(initial);
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
    new OnnxModel({ id: config.modelId, scheduler, limits, tokenizer, chatTemplate }),
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
    queueDepth: () => scheduler.queueDepth,
    activeRequests: () => scheduler.activeRequests,
    tokensGenerated: () => scheduler.tokensGenerated,
  };
  scheduler.onStep = () => {
    tokens?.set(scheduler.tokensGenerated);
    queue?.set(scheduler.queueDepth);
    active?.set(scheduler.activeRequests);
  };
  return {
    models: new ModelRegistry(served),
    scheduler,
    stats,
    async apply(update) {
      let loaded;
      try {
        loaded = await loadWeightsEngine(update.version, update.bytes, update.meta, {
          canaryTolerance: config.canaryTolerance,
          requireCanary: config.requireCanary,
          intraOpNumThreads: config.intraOpThreads,
          spinning: config.intraOpSpinning,
        });
      } catch (err) {
        swaps?.inc({ outcome: (err as Error).name === "CanaryError" ? "rolled_back" : "rejected" });
        throw err;
      }
      await scheduler.install(loaded.engine);
      swaps?.inc({ outcome: "ok" });
      update.meta = { ...update.meta, config: loaded.engine.configJson };
    },
    async close() {
      await scheduler.close();
    },
  };
}
