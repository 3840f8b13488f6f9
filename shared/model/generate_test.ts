import assert from "node:assert/strict";
import { type HostTensor, hostTensor, int64 } from "@parlmt/onnx";
import { Session } from "@parlmt/ort";
import { modelConfig } from "./config.ts";
import { Decoder } from "./generate.ts";
import { buildDecodeGraph, buildInferenceGraph, CACHE_NAMES } from "./inference_graph.ts";
import { initWeights } from "./weights.ts";

const BASE = { nLayer: 2, nEmbd: 32, nHead: 4, nFf: 64, vocabSize: 50, blockSize: 32 };

for (const positions of ["learned", "rotary"] as const) {
  const C = modelConfig({ ...BASE, rotary: positions === "rotary" });

  Deno.test(`Decoder KV-cache logits equal full-sequence logits (${positions} positions)`, async () => {
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

  Deno.test(`Decoder with weights as inputs matches weights as initializers (${positions} positions)`, async () => {
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

  Deno.test(`Decoder left padding with mask and positions gives the unpadded logits (${positions} positions)`, async () => {
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

  Deno.test(`Decoder one-token steps over a left-padded prompt give the unpadded logits (${positions} positions)`, async () => {
    const weights = initWeights(C, 8);
    const dec = await Decoder.create(C, { weights, intraOpNumThreads: 1 });
    try {
      const V = C.vocabSize;
      // Row 0 = [pad, pad, 4, 5] then 6, 7; row 1 = [1, 2, 3, 4] then 5, 6; each step one token.
      let plain = (await dec.step(dec.emptyState(1), [4, 5])).state;
      let padded = (await dec.step(dec.emptyState(2), [0, 0, 4, 5, 1, 2, 3, 4], {
        attentionMask: [0, 0, 1, 1, 1, 1, 1, 1],
        positionIds: [0, 0, 0, 1, 0, 1, 2, 3],
      })).state;
      let maxDiff = 0;
      for (const [t, tok] of [[6, 5], [7, 6]] as const) {
        const a = await dec.step(plain, [t]);
        const P = padded.length;
        const b = await dec.step(padded, [t, tok], {
          attentionMask: [0, 0, ...Array(P - 1).fill(1), ...Array(P + 1).fill(1)],
          positionIds: [P - 2, P],
        });
        const la = a.logits.data as Float32Array;
        const lb = b.logits.data as Float32Array;
        assert.deepEqual(b.logits.dims, [2, 1, V]);
        for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(la[v]! - lb[v]!));
        plain = a.state;
        padded = b.state;
      }
      assert.ok(maxDiff < 1e-4, `max |Δlogit| ${maxDiff}`);
      assert.deepEqual(padded.past[1]!.value.dims, [2, 4, 6, 8]);
    } finally {
      await dec.dispose();
    }
  });

  Deno.test(`the decode-step graph matches the inference graph on one token per row (${positions} positions)`, async () => {
    const weights = initWeights(C, 9);
    const step = await Session.create(buildDecodeGraph(C, { weights }).toBytes(), {
      intraOpNumThreads: 1,
    });
    const full = await Session.create(buildInferenceGraph(C, { weights }).toBytes(), {
      intraOpNumThreads: 1,
    });
    try {
      const B = 2, P = 3, H = 4, D = 8;
      const past = (seed: number) =>
        hostTensor(
          "float32",
          [B, H, P, D],
          Float32Array.from({ length: B * H * P * D }, (_, i) => Math.sin(seed + i)),
        );
      const feeds: Record<string, HostTensor> = {
        input_ids: int64([B, 1], [7, 11]),
        attention_mask: int64([B, P + 1], [0, 1, 1, 1, 1, 1, 1, 1]),
        position_ids: int64([B, 1], [2, 3]),
      };
      for (let l = 0; l < C.nLayer; l++) {
        feeds[CACHE_NAMES.pastKey(l)] = past(l);
        feeds[CACHE_NAMES.pastValue(l)] = past(l + 10);
      }
      const a = await step.run(feeds);
      const b = await full.run(feeds);
      assert.deepEqual(step.outputNames, full.outputNames);
      for (const name of full.outputNames) {
        assert.deepEqual(a[name]!.dims, b[name]!.dims, name);
        const x = a[name]!.data as Float32Array;
        const y = b[name]!.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
        assert.ok(maxDiff < 1e-5, `${name}: max |Δ| ${maxDiff}`);
      }
      await assert.rejects(
        step.run({ ...feeds, input_ids: int64([B, 2], [7, 11, 7, 11]) }),
        /input_ids|dimension/i,
      );
    } finally {
      await step.dispose();
      await full.dispose();
    }
  });
}
