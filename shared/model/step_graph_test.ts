import assert from "node:assert/strict";
import { modelConfig } from "./config.ts";
import { Decoder } from "./generate.ts";
import { StepDecoder } from "./step_graph.ts";
import { initWeights } from "./weights.ts";

const BASE = { nLayer: 2, nEmbd: 32, nHead: 4, nFf: 64, vocabSize: 50, blockSize: 32 };

for (const positions of ["learned", "rotary"] as const) {
  Deno.test(`StepDecoder greedy tokens equal the KV-cache Decoder's (${positions} positions)`, async () => {
    const C = modelConfig({ ...BASE, rotary: positions === "rotary" });
    const weights = initWeights(C, 7);
    // Larger init so greedy tokens depend on the context rather than repeating one id.
    for (const t of weights.values()) {
      for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i]! *= 4;
    }
    const ref = await Decoder.create(C, { weights, intraOpNumThreads: 1 });
    const dec = await StepDecoder.create(C, weights, { intraOpNumThreads: 1 });
    try {
      const prompts = [[1, 2, 3, 4], [9, 8, 7, 6], [5, 5, 5, 5]];
      const want = await ref.greedy(prompts, 20);
      const got = await dec.greedy(prompts, 20);
      assert.deepEqual(got, want);
      assert.ok(new Set(want.flat()).size > 3, `greedy tokens too uniform: ${want}`);
      assert.ok(dec.ortMs > 0);
    } finally {
      await ref.dispose();
      await dec.dispose();
    }
  });
}

Deno.test("StepDecoder refuses ragged prompts and decoding past blockSize", async () => {
  const C = modelConfig(BASE);
  const dec = await StepDecoder.create(C, initWeights(C, 1), { intraOpNumThreads: 1 });
  try {
    await assert.rejects(dec.greedy([[1, 2], [3]], 4), /equal length/);
    await assert.rejects(dec.greedy([], 4), /non-empty/);
    await assert.rejects(dec.greedy([[1, 2, 3]], 31), /past blockSize 32/);
    assert.equal((await dec.greedy([[1, 2, 3]], 30))[0]!.length, 30);
  } finally {
    await dec.dispose();
  }
});
