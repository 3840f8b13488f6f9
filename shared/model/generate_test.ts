import assert from "node:assert/strict";
import { modelConfig } from "./config.ts";
import { Decoder } from "./generate.ts";
import { initWeights } from "./weights.ts";

const C = modelConfig({ nLayer: 2, nEmbd: 32, nHead: 4, nFf: 64, vocabSize: 50, blockSize: 32 });

Deno.test("Decoder KV-cache logits equal full-sequence logits", async () => {
  const weights = initWeights(C, 5);
  // Larger init so logits differ visibly between positions.
  for (const t of weights.values()) {
    for (let i = 0; i < t.data.length; i++) (t.data as Float32Array)[i]! *= 5;
  }
  const dec = await Decoder.create(C, { weights, intraOpNumThreads: 1 });
  try {
    const B = 2, T = 12, P = 5, V = C.vocabSize;
    const tokens = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V);
    const full = await dec.step(dec.emptyState(B), tokens);
    const rows = (from: number, to: number) =>
      [0, 1].flatMap((b) => tokens.slice(b * T + from, b * T + to));
    let { state } = await dec.step(dec.emptyState(B), rows(0, P));
    let maxDiff = 0;
    for (let t = P; t < T; t++) {
      const r = await dec.step(state, rows(t, t + 1));
      state = r.state;
      const inc = r.logits.data as Float32Array;
      const ref = full.logits.data as Float32Array;
      for (let b = 0; b < B; b++) {
        for (let v = 0; v < V; v++) {
          maxDiff = Math.max(maxDiff, Math.abs(inc[b * V + v]! - ref[(b * T + t) * V + v]!));
        }
      }
    }
    assert.ok(maxDiff < 1e-4, `max |Δlogit| ${maxDiff}`);
    assert.deepEqual(state.past[0]!.key.dims, [B, 4, T, 8]);
  } finally {
    await dec.dispose();
  }
});

Deno.test("Decoder with weights as inputs matches weights as initializers", async () => {
  const weights = initWeights(C, 6);
  const a = await Decoder.create(C, { weights, intraOpNumThreads: 1 });
  const b = await Decoder.create(C, { intraOpNumThreads: 1 });
  try {
    const ga = await a.greedy([[1, 2, 3]], 6);
    const gb = await b.greedy([[1, 2, 3]], 6).catch(() => null);
    assert.equal(gb, null, "greedy() without weights on an inputs-graph must fail");
    const ra = await a.step(a.emptyState(1), [1, 2, 3]);
    const rb = await b.step(b.emptyState(1), [1, 2, 3], { weights });
    assert.deepEqual(
      Array.from(ra.logits.data as Float32Array),
      Array.from(rb.logits.data as Float32Array),
    );
    assert.equal(ga[0]!.length, 6);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

Deno.test("Decoder left padding with mask and positions gives the unpadded logits", async () => {
  const weights = initWeights(C, 7);
  const dec = await Decoder.create(C, { weights, intraOpNumThreads: 1 });
  try {
    const V = C.vocabSize;
    const plain = await dec.step(dec.emptyState(1), [4, 5, 6]);
    // Row 0 = [pad, pad, 4, 5, 6]; row 1 = [1, 2, 3, 4, 5].
    const padded = await dec.step(dec.emptyState(2), [0, 0, 4, 5, 6, 1, 2, 3, 4, 5], {
      attentionMask: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
      positionIds: [0, 0, 0, 1, 2, 0, 1, 2, 3, 4],
    });
    const a = (plain.logits.data as Float32Array).subarray(2 * V, 3 * V);
    const b = (padded.logits.data as Float32Array).subarray(4 * V, 5 * V);
    let maxDiff = 0;
    for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(a[v]! - b[v]!));
    assert.ok(maxDiff < 1e-4, `max |Δlogit| ${maxDiff}`);
  } finally {
    await dec.dispose();
  }
});
