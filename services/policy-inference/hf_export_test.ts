import assert from "node:assert/strict";
import { testModel } from "./_test_model.ts";
import { Engine } from "./engine.ts";
import { exportHfModel } from "./hf_export.ts";
import { Scheduler } from "./scheduler.ts";

Deno.test("exportHfModel() writes a folder served like any HF/Optimum decoder", async () => {
  const m = testModel(6);
  const dir = await Deno.makeTempDir({ prefix: "parlmt-hf-" });
  try {
    await exportHfModel(dir, m.config, m.weights, m.tokenizer);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.equal(config.model_type, "gpt2");
    const fromDir = await Engine.fromModelDir(dir);
    assert.deepEqual(fromDir.eosIds, [m.template.endId]);
    const fromBlob = await Engine.fromWeightsBlob(m.blob(1));
    const ids = [5, 9, 33, 100, 7];
    const a = await fromDir.sequenceLogprobs(ids);
    const b = await fromBlob.sequenceLogprobs(ids);
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5));
    const run = async (e: Engine) => {
      const s = new Scheduler();
      await s.install(e);
      const r = await s.submit({
        promptIds: ids,
        sampling: { temperature: 0, topP: 1, topK: 0 },
        seed: 0n,
        maxTokens: 10,
        stop: [],
        pinVersion: 0n,
      });
      await s.close();
      return r.tokenIds;
    };
    assert.deepEqual(await run(fromDir), await run(fromBlob));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
