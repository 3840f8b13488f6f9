/**
 * policy-inference serves a decoder exported in the Hugging Face / Optimum ONNX layout
 * (`model.onnx`, `config.json`, `tokenizer.json`, `tokenizer_config.json` with its Jinja chat
 * template) with `--model-dir`, as a real process over gRPC and HTTP, and decodes the same
 * tokens as the in-process runtime of the original weights.
 */
import assert from "node:assert/strict";
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { Engine } from "../services/policy-inference/engine.ts";
import { exportHfModel } from "../services/policy-inference/hf_export.ts";
import { Scheduler } from "../services/policy-inference/scheduler.ts";

Deno.test({
  name: "policy-inference - serves an exported HF/Optimum model folder",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const m = testModel(8, { blockSize: 200 });
    const dir = await Deno.makeTempDir({ prefix: "parlmt-hf-" });
    try {
      await exportHfModel(`${dir}/model`, m.config, m.weights, m.tokenizer);
      await using svc = await spawnService("policy-inference", {
        args: ["--nats-url", "", "--model-dir", `${dir}/model`, "--model-id", "exported"],
      });
      const client = createClient(PolicyService, svc.address);
      try {
        const messages = [{ role: "user" as const, content: "move report.txt to archive" }];
        const r = await client.generate({
          params: {
            prompt: {
              case: "chat",
              value: { messages: [{ role: Role.USER, content: messages[0]!.content }] },
            },
            sampling: { maxTokens: 12 },
          },
        });
        // The Jinja chat template renders the same ids as the turn template.
        const prompt = m.template.renderPrompt(messages);
        assert.deepEqual(r.generation!.promptTokenIds, prompt);
        const sched = new Scheduler({ eosIds: [m.template.endId] });
        await sched.install(await Engine.fromWeightsBlob(m.blob(0)));
        const local = await sched.submit({
          promptIds: prompt,
          sampling: { temperature: 0, topP: 1, topK: 0 },
          seed: 0n,
          maxTokens: 12,
          stop: [],
          pinVersion: 0n,
        });
        await sched.close();
        assert.deepEqual(r.generation!.tokenIds, local.tokenIds);
        const models = await (await fetch(`http://127.0.0.1:${svc.adminPort}/v1/models`)).json();
        assert.equal(models.data[0].id, "exported");
        const list = await client.listModels({});
        assert.equal(JSON.parse(list.models[0]!.configJson).model_type, "gpt2");
      } finally {
        client.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
