import assert from "node:assert/strict";
import { modelConfig } from "./config.ts";
import { decodeWeights, encodeWeights, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { Prng } from "./prng.ts";
import { initWeights } from "./weights.ts";

const C = modelConfig({ nLayer: 1, nEmbd: 16, nHead: 2, nFf: 32, vocabSize: 20, blockSize: 8 });

Deno.test("checkpoint round-trips weights, moments, step, PRNG state and extra", async () => {
  const rng = new Prng(9);
  rng.normal();
  const ck = {
    config: C,
    weights: initWeights(C, 1),
    m: initWeights(C, 2),
    v: initWeights(C, 3),
    step: 17,
    rngState: rng.state,
    extra: { run: "x", cursor: 5 },
  };
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(`${dir}/ck.safetensors`, ck);
    const back = await loadCheckpoint(`${dir}/ck.safetensors`);
    assert.deepEqual(back, ck);
    const r2 = new Prng(0);
    r2.state = back.rngState;
    assert.equal(r2.normal(), rng.normal());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint round-trips a running average of the weights when it has one", async () => {
  const ck = {
    config: C,
    weights: initWeights(C, 1),
    m: initWeights(C, 2),
    v: initWeights(C, 3),
    average: initWeights(C, 4),
    step: 3,
    rngState: [1, 2, 3, 4],
    extra: {},
  };
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(`${dir}/ck.safetensors`, ck);
    const back = await loadCheckpoint(`${dir}/ck.safetensors`);
    assert.deepEqual(back, ck);
    assert.notDeepEqual(back.average, back.weights);
    const { average: _, ...plain } = ck;
    await saveCheckpoint(`${dir}/ck.safetensors`, plain);
    assert.equal((await loadCheckpoint(`${dir}/ck.safetensors`)).average, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weight blob carries the config and version", () => {
  const w = initWeights(C, 4);
  const back = decodeWeights(encodeWeights(C, w, 3));
  assert.deepEqual(back.config, C);
  assert.equal(back.version, 3);
  assert.deepEqual(back.weights, w);
});
