/**
 * The project's policy server as a real OpenAI-compatible peer for tests: a tiny random model
 * exported in the HF/Optimum layout and served with `--model-dir` (model id "tiny").
 */
import type { ModelConfig } from "@parlmt/model";
import { type SpawnedService, spawnService } from "@parlmt/stack";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { exportHfModel } from "../services/policy-inference/hf_export.ts";

/** A running server; `url` is its OpenAI base URL. Disposing stops it and removes the model. */
export interface OpenAiPolicy {
  service: SpawnedService;
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves a tiny model with the given overrides (e.g. a long context for long prompts). */
export async function startOpenAiPolicy(overrides: Partial<ModelConfig>): Promise<OpenAiPolicy> {
  const dir = await Deno.makeTempDir({ prefix: "parlmt-openai-policy-" });
  try {
    const m = testModel(3, overrides);
    await exportHfModel(`${dir}/model`, m.config, m.weights, m.tokenizer);
    const service = await spawnService("policy-inference", {
      args: ["--nats-url", "", "--model-dir", `${dir}/model`, "--model-id", "tiny"],
    });
    return {
      service,
      url: `http://127.0.0.1:${service.adminPort}/v1`,
      async [Symbol.asyncDispose]() {
        await service.stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}
