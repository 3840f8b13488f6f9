/**
 * Gradient checking: compares backward() against central finite differences, running the graph in
 * onnxruntime (float64 where ORT's CPU kernels support it).
 */
import assert from "node:assert/strict";
import {
  type DType,
  GraphBuilder,
  type HostTensor,
  hostTensor,
  isFloat,
  mul,
  sumAll,
  type Value,
} from "@parlmt/onnx";
import { Session } from "./session.ts";
import { backward } from "@parlmt/autodiff";

/** Options of checkGrad(). */
export interface CheckGradOptions {
  /** Finite-difference step. @default 1e-6 for float64, 1e-2 for float32 */
  h?: number;
  /** Absolute tolerance. @default 1e-6 for float64, 2e-3 for float32 */
  atol?: number;
  /** Relative tolerance. @default 1e-5 for float64, 2e-2 for float32 */
  rtol?: number;
  /** Elements checked per input at most (a seeded sample). @default 48 */
  maxElems?: number;
  /** Random seed of weights and sampling. @default 1 */
  seed?: number;
}

/** A tiny seeded PRNG for test data (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of uniform values in [lo, hi). */
export function rand(
  dtype: DType,
  dims: readonly number[],
  seed: number,
  lo = -1,
  hi = 1,
): HostTensor {
  const t = hostTensor(dtype, dims);
  const r = rng(seed);
  for (let i = 0; i < t.data.length; i++) (t.data as Float64Array)[i] = lo + (hi - lo) * r();
  return t;
}

/**
 * Builds `f(inputs)`, forms L = Σ f·R for a fixed random R, and compares dL/dx from backward()
 * with (L(x+h) - L(x-h)) / 2h for sampled elements of every float input.
 */
export async function checkGrad(
  f: (xs: Value[]) => Value,
  inputs: readonly HostTensor[],
  opts: CheckGradOptions = {},
): Promise<void> {
  const dtype = inputs.find((t) => isFloat(t.dtype))?.dtype ?? "float64";
  const f64 = dtype === "float64";
  const {
    h = f64 ? 1e-6 : 1e-2,
    atol = f64 ? 1e-6 : 2e-3,
    rtol = f64 ? 1e-5 : 2e-2,
    maxElems = 48,
    seed = 1,
  } = opts;
  const g = new GraphBuilder("check_grad");
  const xs = inputs.map((t, i) => g.input(`x${i}`, t.dtype, t.dims));
  const y = f(xs);
  const r = g.constant(rand(y.dtype, y.shape as number[], seed + 1000));
  const loss = sumAll(mul(y, r));
  g.output(loss, "loss");
  const wrt = xs.filter((x) => isFloat(x.dtype));
  backward(loss, wrt).forEach((gr, i) => g.output(gr, `grad_${wrt[i]!.name}`));
  const session = await Session.create(g.toBytes(), { intraOpNumThreads: 1 });
  try {
    const feeds: Record<string, HostTensor> = {};
    inputs.forEach((t, i) => (feeds[`x${i}`] = { ...t, data: t.data.slice() }));
    const base = await session.run(feeds);
    const lossAt = async () => Number((await session.run(feeds, ["loss"])).loss!.data[0]);
    const pick = rng(seed);
    for (const x of wrt) {
      const data = feeds[x.name]!.data as Float64Array;
      const grad = base[`grad_${x.name}`]!.data as Float64Array;
      const idx = [...data.keys()].sort(() => pick() - 0.5).slice(0, maxElems);
      for (const i of idx) {
        const x0 = data[i]!;
        data[i] = x0 + h;
        const lp = await lossAt();
        data[i] = x0 - h;
        const lm = await lossAt();
        data[i] = x0;
        const num = (lp - lm) / (2 * h);
        const ana = grad[i]!;
        assert.ok(
          Math.abs(num - ana) <= atol + rtol * Math.abs(num),
          `d loss / d ${x.name}[${i}]: backward ${ana}, finite difference ${num}`,
        );
      }
    }
  } finally {
    await session.dispose();
  }
}
