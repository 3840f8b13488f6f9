import assert from "node:assert/strict";
import { float32, GraphBuilder, type HostTensor } from "@parlmt/onnx";
import { Session } from "@parlmt/ort";
import { adamW } from "./adamw.ts";

/** Plain-TS AdamW with global-norm clipping, the reference. */
function reference(
  p: number[],
  g: number[],
  m: number[],
  v: number[],
  lr: number,
  t: number,
  decay: boolean,
  maxNorm: number,
) {
  const [b1, b2, eps, wd] = [0.9, 0.95, 1e-8, 0.1];
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  const s = Math.min(1, maxNorm / Math.max(norm, 1e-6));
  return p.map((pi, i) => {
    const gi = g[i]! * s;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    const upd = (mi / (1 - b1 ** t)) / (Math.sqrt(vi / (1 - b2 ** t)) + eps);
    return (decay ? pi * (1 - lr * wd) : pi) - lr * upd;
  });
}

Deno.test("adamW() matches a plain AdamW step with clipping and decay", async () => {
  const g = new GraphBuilder("adamw");
  const p = g.input("p", "float32", [4]);
  const gr = g.input("g", "float32", [4]);
  const m = g.input("m", "float32", [4]);
  const v = g.input("v", "float32", [4]);
  const lr = g.input("lr", "float32", []);
  const step = g.input("step", "float32", []);
  const out = adamW([p], [gr], { m: [m], v: [v] }, lr, step, [true], { maxGradNorm: 0.5 });
  g.output(out.params[0]!, "p_new");
  g.output(out.gradNorm, "norm");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  const P = [0.5, -1, 2, 0.1], G = [0.3, -0.4, 1.2, 0.05], M = [0.1, 0, -0.2, 0.01];
  const V = [0.01, 0.02, 0.03, 0.001];
  const feeds: Record<string, HostTensor> = {
    p: float32([4], P),
    g: float32([4], G),
    m: float32([4], M),
    v: float32([4], V),
    lr: float32([], [0.01]),
    step: float32([], [3]),
  };
  const res = await s.run(feeds);
  await s.dispose();
  const want = reference(P, G, M, V, 0.01, 3, true, 0.5);
  Array.from(res.p_new!.data as Float32Array).forEach((x, i) =>
    assert.ok(Math.abs(x - want[i]!) < 1e-6, `p[${i}] ${x} vs ${want[i]}`)
  );
  assert.ok(Math.abs(Number(res.norm!.data[0]) - Math.hypot(...G)) < 1e-6);
});

Deno.test("adamW() updates tensors of several shapes, with and without decay, as one norm", async () => {
  // Three tensors: a decayed matrix, a bias without decay, a decayed scalar. The clip uses the
  // norm over all of them; each gets its own update and moments back in its own shape.
  const shapes = [[2, 3], [3], []];
  const decay = [true, false, true];
  const P = [[0.5, -1, 2, 0.1, 0.3, -0.2], [0.4, 0, -0.6], [1.5]];
  const G = [[0.3, -0.4, 1.2, 0.05, -0.7, 0.2], [0.9, -0.1, 0.3], [-0.8]];
  const M = [[0.1, 0, -0.2, 0.01, 0.05, 0], [0, 0.02, 0.1], [0.3]];
  const V = [[0.01, 0.02, 0.03, 0.001, 0.002, 0.01], [0.04, 0, 0.01], [0.02]];
  const g = new GraphBuilder("adamw");
  const vals = (name: string) => shapes.map((s, i) => g.input(`${name}${i}`, "float32", s));
  const [p, gr, m, v] = [vals("p"), vals("g"), vals("m"), vals("v")];
  const lr = g.input("lr", "float32", []);
  const step = g.input("step", "float32", []);
  const out = adamW(p, gr, { m, v }, lr, step, decay, { maxGradNorm: 0.5 });
  shapes.forEach((_, i) => {
    g.output(out.params[i]!, `p_new${i}`);
    g.output(out.m[i]!, `m_new${i}`);
    g.output(out.v[i]!, `v_new${i}`);
  });
  g.output(out.gradNorm, "norm");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  const feeds: Record<string, HostTensor> = { lr: float32([], [0.01]), step: float32([], [3]) };
  shapes.forEach((shape, i) => {
    feeds[`p${i}`] = float32(shape, P[i]!);
    feeds[`g${i}`] = float32(shape, G[i]!);
    feeds[`m${i}`] = float32(shape, M[i]!);
    feeds[`v${i}`] = float32(shape, V[i]!);
  });
  const res = await s.run(feeds);
  await s.dispose();
  const norm = Math.hypot(...G.flat());
  assert.ok(Math.abs(Number(res.norm!.data[0]) - norm) < 1e-6);
  const scale = Math.min(1, 0.5 / norm);
  shapes.forEach((shape, i) => {
    assert.deepEqual(res[`p_new${i}`]!.dims, shape);
    assert.deepEqual(res[`m_new${i}`]!.dims, shape);
    // The reference clips by the global norm: pass it gradients already scaled and no clip.
    const want = reference(
      P[i]!,
      G[i]!.map((x) => x * scale),
      M[i]!,
      V[i]!,
      0.01,
      3,
      decay[i]!,
      1e9,
    );
    Array.from(res[`p_new${i}`]!.data as Float32Array).forEach((x, j) =>
      assert.ok(Math.abs(x - want[j]!) < 1e-6, `p${i}[${j}] ${x} vs ${want[j]}`)
    );
    Array.from(res[`m_new${i}`]!.data as Float32Array).forEach((x, j) => {
      const want = 0.9 * M[i]![j]! + 0.1 * G[i]![j]! * scale;
      assert.ok(Math.abs(x - want) < 1e-6, `m${i}[${j}] ${x} vs ${want}`);
    });
    Array.from(res[`v_new${i}`]!.data as Float32Array).forEach((x, j) => {
      const want = 0.95 * V[i]![j]! + 0.05 * (G[i]![j]! * scale) ** 2;
      assert.ok(Math.abs(x - want) < 1e-6, `v${i}[${j}] ${x} vs ${want}`);
    });
  });
});
