import assert from "node:assert/strict";
import * as op from "@parlmt/onnx";
import { GraphBuilder, int64 } from "@parlmt/onnx";
import { checkGrad, rand, Session } from "@parlmt/ort";
import { backward } from "./backward.ts";
import { attention, logSoftmaxGather, selfScoreFloor } from "./fused.ts";

const D = "float64" as const;

Deno.test("VJP Add/Sub/Mul/Div with broadcasting match finite differences", async () => {
  const a = rand(D, [2, 3, 4], 1);
  const b = rand(D, [3, 1], 2, 0.5, 1.5);
  await checkGrad(([x, y]) => op.add(x!, y!), [a, b]);
  await checkGrad(([x, y]) => op.sub(x!, y!), [a, b]);
  await checkGrad(([x, y]) => op.mul(x!, y!), [a, b]);
  await checkGrad(([x, y]) => op.div(x!, y!), [a, b]);
});

Deno.test("VJP bias gradients over many leading rows (GEMM reduction) match finite differences", async () => {
  await checkGrad(([x, b]) => op.add(x!, b!), [rand(D, [8, 16, 5], 31), rand(D, [5], 32)]);
  await checkGrad(([x, b]) => op.mul(x!, b!), [rand(D, [4, 32, 2, 3], 33), rand(D, [2, 3], 34)]);
  await checkGrad(([x]) => op.sum([x!, 1, op.mul(x!, x!)]), [rand(D, [3, 4], 35)]);
});

Deno.test("VJP MatMul (batched, weight) and Gemm match finite differences", async () => {
  await checkGrad(([x, y]) => op.matMul(x!, y!), [
    rand(D, [2, 2, 3, 4], 3),
    rand(D, [2, 1, 4, 5], 4),
  ]);
  await checkGrad(([x, w]) => op.matMul(x!, w!), [rand(D, [2, 3, 4], 5), rand(D, [4, 5], 6)]);
  for (const transA of [0, 1] as const) {
    for (const transB of [0, 1] as const) {
      const a = rand(D, transA ? [4, 3] : [3, 4], 7);
      const b = rand(D, transB ? [5, 4] : [4, 5], 8);
      await checkGrad(
        ([x, y, c]) => op.gemm(x!, y!, c!, { alpha: 0.7, beta: 1.3, transA, transB }),
        [a, b, rand(D, [5], 9)],
      );
    }
  }
});

Deno.test("VJP unary ops match finite differences", async () => {
  const x = rand(D, [3, 5], 10, 0.2, 2);
  const s = rand(D, [3, 5], 11); // signed, kept away from kinks below
  for (let i = 0; i < s.data.length; i++) {
    const v = (s.data as Float64Array)[i]!;
    (s.data as Float64Array)[i] = v < 0 ? v - 0.05 : v + 0.05;
  }
  await checkGrad(([v]) => op.exp(v!), [s]);
  await checkGrad(([v]) => op.log(v!), [x]);
  await checkGrad(([v]) => op.sqrt(v!), [x]);
  await checkGrad(([v]) => op.reciprocal(v!), [x]);
  await checkGrad(([v]) => op.neg(v!), [s]);
  await checkGrad(([v]) => op.tanh(v!), [s]);
  await checkGrad(([v]) => op.sigmoid(v!), [s]);
  await checkGrad(([v]) => op.silu(v!), [s]);
  await checkGrad(([v]) => op.relu(v!), [s]);
  await checkGrad(([v]) => op.abs(v!), [s]);
  await checkGrad(([v]) => op.pow(v!, 3), [x]);
  await checkGrad(([v]) => op.clip(v!, -0.5, 0.5), [s]);
  await checkGrad(([v]) => op.identity(v!), [s]);
});

Deno.test("VJP Erf and Gelu match finite differences (float32 kernels)", async () => {
  const s = rand("float32", [4, 6], 12, -2, 2);
  await checkGrad(([v]) => op.erf(v!), [s]);
  await checkGrad(([v]) => op.gelu(v!), [s]);
});

Deno.test("VJP Softmax and LogSoftmax match finite differences", async () => {
  const x = rand(D, [2, 3, 5], 13, -2, 2);
  await checkGrad(([v]) => op.softmax(v!), [x]);
  await checkGrad(([v]) => op.logSoftmax(v!), [x]);
});

Deno.test("VJP Where, Min, Max, Cast match finite differences", async () => {
  const a = rand(D, [3, 4], 14);
  const b = rand(D, [4], 15);
  await checkGrad(([x, y]) => op.where(op.greater(x!, 0), x!, y!), [a, b]);
  await checkGrad(([x, y]) => op.min(x!, y!), [a, b]);
  await checkGrad(([x, y]) => op.max(x!, y!), [a, b]);
  await checkGrad(([x]) => op.cast(op.mul(op.cast(x!, "float32"), 2), "float64"), [a], {
    h: 1e-2,
    atol: 1e-4,
    rtol: 1e-4,
  });
});

Deno.test("VJP shape ops match finite differences", async () => {
  const x = rand(D, [2, 3, 4], 16);
  await checkGrad(([v]) => op.reshape(v!, [6, -1]), [x]);
  await checkGrad(([v]) => op.transpose(v!, [1, 2, 0]), [x]);
  await checkGrad(([v]) => op.squeeze(op.unsqueeze(v!, [1]), [1]), [x]);
  await checkGrad(([v]) => {
    const [p, q] = op.split(v!, [1, 3], { axis: 2 });
    return op.concat([op.mul(q!, 2), p!], 2);
  }, [x]);
  await checkGrad(([v]) => op.split(v!, [1, 2], { axis: 1 })[1]!, [x]);
  await checkGrad(([v, w]) => op.expand(v!, op.shapeOf(w!), w!.shape), [rand(D, [3, 1], 17), x]);
});

Deno.test("VJP reductions match finite differences", async () => {
  const x = rand(D, [2, 3, 4], 18);
  await checkGrad(([v]) => op.reduceSum(v!, [1]), [x]);
  await checkGrad(([v]) => op.reduceSum(v!, [0, 2], { keepdims: false }), [x]);
  await checkGrad(([v]) => op.reduceMean(v!, [-1]), [x]);
  await checkGrad(([v]) => op.reduceMean(v!, [1], { keepdims: false }), [x]);
});

Deno.test("VJP Gather and GatherElements match finite differences", async () => {
  const emb = rand(D, [5, 3], 19);
  const idx = int64([2, 3], [0, 4, 4, 1, 0, 2]);
  await checkGrad(([e, i]) => op.gather(e!, i!), [emb, idx]);
  const logits = rand(D, [2, 3, 5], 20);
  const t = int64([2, 3, 1], [1, 4, 0, 0, 2, 2]);
  await checkGrad(([l, i]) => op.gatherElements(l!, i!, { axis: 2 }), [logits, t]);
  const t2 = int64([2, 3, 2], [1, 4, 0, 0, 2, 2, 3, 3, 1, 0, 4, 2]); // repeated picks per row
  await checkGrad(([l, i]) => op.gatherElements(l!, i!, { axis: 2 }), [logits, t2]);
  await checkGrad(([l, i]) => op.gatherElements(l!, i!, { axis: 1 }), [
    logits,
    int64([2, 1, 5], [0, 1, 2, 0, 1, 2, 2, 0, 1, 1]),
  ]);
});

Deno.test("VJP LayerNormalization matches finite differences", async () => {
  const x = rand(D, [2, 3, 8], 21, -2, 2);
  // ORT returns the statistics in float32 even for double inputs: tolerances allow for that.
  await checkGrad(([v, s, b]) => op.layerNorm(v!, s!, b!)[0], [
    x,
    rand(D, [8], 22, 0.5, 1.5),
    rand(D, [8], 23),
  ], { atol: 1e-5, rtol: 1e-5 });
  await checkGrad(([v, s, b]) => op.layerNorm(v!, s!, b!)[0], [
    rand("float32", [2, 3, 8], 21, -2, 2),
    rand("float32", [8], 22, 0.5, 1.5),
    rand("float32", [8], 23),
  ], { h: 1e-2, atol: 3e-3, rtol: 3e-2 });
  // Normalised over the last two axes (the general rule, not the single-axis one).
  await checkGrad(([v, s, b]) => op.layerNorm(v!, s!, b!, { axis: 1 })[0], [
    x,
    rand(D, [3, 8], 24, 0.5, 1.5),
    rand(D, [3, 8], 25),
  ], { atol: 1e-5, rtol: 1e-5 });
});

Deno.test("VJP masked cross-entropy composite matches finite differences", async () => {
  const logits = rand(D, [2, 3, 5], 24, -2, 2);
  const t = int64([2, 3], [1, 4, 0, 0, 2, 2]);
  const mask = op.float32([2, 3], [1, 1, 0, 1, 1, 1]);
  const m64 = { dtype: D, dims: mask.dims, data: Float64Array.from(mask.data as Float32Array) };
  await checkGrad(([l, i, m]) => {
    const logp = op.gatherElements(op.logSoftmax(l!), op.unsqueeze(i!, [-1]), { axis: 2 });
    const nll = op.neg(op.mul(op.squeeze(logp, [-1]), m!));
    return op.div(op.sumAll(nll), op.sumAll(m!));
  }, [logits, t, m64]);
});

Deno.test("backward() sums the gradients of a value used several times", async () => {
  const x = rand(D, [3, 4], 25);
  await checkGrad(([v]) => op.add(op.mul(v!, v!), op.exp(v!)), [x]);
});

Deno.test("backward() names the op when a VJP rule is missing", () => {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [2, 3]);
  const y = op.reduceMax(x, [1]);
  assert.throws(() => backward(op.sumAll(y), [x]), /ReduceMax/);
});

Deno.test("fused logSoftmaxGather VJP matches finite differences", async () => {
  const logits = rand(D, [2, 3, 5], 26, -2, 2);
  const t = int64([2, 3], [1, 4, 0, 0, 2, 2]);
  await checkGrad(([l, i]) => logSoftmaxGather(l!, i!).logp, [logits, t]);
  // Both outputs used: log p(target) and an entropy term on the log-softmax.
  await checkGrad(([l, i]) => {
    const { logp, lsm } = logSoftmaxGather(l!, i!);
    const ent = op.reduceSum(op.mul(op.exp(lsm), lsm), [-1], { keepdims: false });
    return op.add(op.mul(logp, 0.7), ent);
  }, [logits, t]);
  await checkGrad(([l, i]) => logSoftmaxGather(l!, i!).lsm, [logits, t]);
});

/** A `[T, T]` causal bias (0 on and below the diagonal, -1e9 above) of dtype D. */
function causal(T: number, keys = T): op.HostTensor {
  const b = op.hostTensor(D, [T, keys]);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < keys; j++) b.data[i * keys + j] = -1e9;
  return b;
}

Deno.test("fused attention VJP matches finite differences (plain and query-blocked)", async () => {
  const q = rand(D, [2, 2, 6, 3], 27);
  const k = rand(D, [2, 2, 6, 3], 28);
  const v = rand(D, [2, 2, 6, 3], 29);
  const bias = rand(D, [6, 6], 30, -1, 0); // a soft, non-causal bias
  await checkGrad(([a, b, c]) => attention(a!, b!, c!, a!.graph.constant(bias), { scale: 0.6 }), [
    q,
    k,
    v,
  ]);
  for (const queryBlocks of [1, 2, 4, 6]) {
    await checkGrad(
      ([a, b, c]) =>
        attention(a!, b!, c!, a!.graph.constant(causal(6)), { scale: 0.6, queryBlocks }),
      [q, k, v],
    );
  }
  // Blocked and plain forward agree.
  const g = new GraphBuilder();
  const [a, b, c] = [q, k, v].map((t, i) => g.input(`x${i}`, D, t.dims));
  const bias6 = g.constant(causal(6));
  g.output(attention(a!, b!, c!, bias6, { scale: 0.6 }), "plain");
  g.output(attention(a!, b!, c!, bias6, { scale: 0.6, queryBlocks: 3 }), "blocked");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  const r = await s.run({ x0: q, x1: k, x2: v });
  await s.dispose();
  const [p, bl] = [r.plain!.data as Float64Array, r.blocked!.data as Float64Array];
  p.forEach((x, i) => assert.ok(Math.abs(x - bl[i]!) < 1e-12, `o[${i}] ${x} vs ${bl[i]}`));
});

Deno.test("fused attention with a self-score floor matches finite differences and the unfloored output", async () => {
  const q = rand(D, [2, 2, 6, 3], 31);
  const k = rand(D, [2, 2, 6, 3], 32);
  const v = rand(D, [2, 2, 6, 3], 33);
  // Row 0 attends only its own key; the query's own score is the floor's reference.
  const floored = (a: op.Value, b: op.Value, c: op.Value, queryBlocks: number) =>
    attention(a, b, c, a.graph.constant(causal(6)), {
      scale: 0.6,
      queryBlocks,
      floor: selfScoreFloor(a, b, 0.6),
    });
  for (const queryBlocks of [1, 3]) {
    await checkGrad(([a, b, c]) => floored(a!, b!, c!, queryBlocks), [q, k, v]);
  }
  const g = new GraphBuilder();
  const [a, b, c] = [q, k, v].map((t, i) => g.input(`x${i}`, D, t.dims));
  g.output(attention(a!, b!, c!, g.constant(causal(6)), { scale: 0.6 }), "plain");
  g.output(floored(a!, b!, c!, 1), "floored");
  g.output(floored(a!, b!, c!, 3), "blocked");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  const r = await s.run({ x0: q, x1: k, x2: v });
  await s.dispose();
  const p = r.plain!.data as Float64Array;
  for (const name of ["floored", "blocked"]) {
    const f = r[name]!.data as Float64Array;
    p.forEach((x, i) => assert.ok(Math.abs(x - f[i]!) < 1e-12, `${name} o[${i}] ${x} vs ${f[i]}`));
  }
});
