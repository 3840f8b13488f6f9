import assert from "node:assert/strict";
import { hostTensor, int64 } from "@parlmt/onnx";
import { checkGrad } from "@parlmt/ort";
import { DEFAULT_MODEL_CONFIG, modelConfig, paramCount } from "./config.ts";
import { decoderForward } from "./decoder.ts";
import { maskedCrossEntropy } from "./loss.ts";
import { staticCausalBias } from "./masks.ts";
import { initWeights, paramSpecs } from "./weights.ts";

for (const [activation, rotary] of [["silu", false], ["relu", false], ["silu", true]] as const) {
  Deno.test(`decoder (${activation}${rotary ? ", rotary" : ""}) loss gradient matches finite differences for every weight`, async () => {
    const c = modelConfig({
      nLayer: 2,
      nEmbd: 8,
      nHead: 2,
      nFf: 16,
      vocabSize: 11,
      blockSize: 6,
      activation,
      initStd: 0.3,
      rotary,
    });
    const B = 2, T = 5;
    const specs = paramSpecs(c);
    const w = initWeights(c, 3);
    // Non-trivial norms and biases so their gradients are exercised too.
    const inputs = specs.map((s, i) => {
      const t = w.get(s.name)!;
      const d = Float64Array.from(t.data as Float32Array, (x, j) => x + 0.05 * Math.sin(i + j));
      return hostTensor("float64", t.dims, d);
    });
    const ids = int64([B, T], [1, 5, 2, 9, 3, 0, 10, 4, 4, 7]);
    const targets = int64([B, T], [5, 2, 9, 3, 1, 10, 4, 4, 7, 2]);
    const mask = hostTensor("float64", [B, T], Float64Array.from([1, 1, 1, 0, 1, 1, 1, 1, 1, 0]));
    await checkGrad(
      (xs) => {
        const wv = new Map(specs.map((s, i) => [s.name, xs[i]!]));
        const [idv, tv, mv] = xs.slice(specs.length);
        const pos = idv!.graph.constant(int64([T], [0, 1, 2, 3, 4]));
        const { logits } = decoderForward(c, wv, {
          inputIds: idv!,
          positionIds: pos,
          attnBias: staticCausalBias(xs[0]!, T),
        });
        return maskedCrossEntropy(logits, tv!, mv!);
      },
      [...inputs, ids, targets, mask],
      { maxElems: 8, atol: 1e-6, rtol: 1e-4 },
    );
    assert.equal(specs.length, 12 * c.nLayer + 5);
  });
}

Deno.test("the reference model has compute.md's 560,640 parameters", () => {
  const n = paramSpecs(DEFAULT_MODEL_CONFIG).reduce(
    (a, s) => a + s.shape.reduce((p, d) => p * d, 1),
    0,
  );
  assert.equal(n, 560_640);
  assert.equal(paramCount(DEFAULT_MODEL_CONFIG), n);
});

Deno.test("modelConfig() rejects a head count that does not divide the width", () => {
  assert.throws(() => modelConfig({ nEmbd: 10, nHead: 4 }), /nHead 4/);
});
