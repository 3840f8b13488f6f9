/** Private helpers of the VJP rules and the backward engine. */
import {
  expand,
  formatShape,
  hostTensor,
  matMul,
  normAxis,
  reduceSum,
  reshape,
  sameShape,
  shapeOf,
  transpose,
  unsqueeze,
  type Value,
} from "@parlmt/onnx";
import type { VjpContext } from "./vjp_rules.ts";

/** Swaps the last two axes. */
export function swapLast(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

/** The contents of a constant int64 vector (reduction axes), or a `TypeError`. */
export function staticInts(v: Value): number[] {
  const t = v.graph.constantValue(v);
  if (!t || t.dtype !== "int64") {
    throw new TypeError(`Cannot read ${v} as constant ints: not an int64 constant`);
  }
  return Array.from(t.data as BigInt64Array, Number);
}

/** Gradient of a reduction over `axes`: dy re-expanded to the shape of the node's input. */
export function expandLike(c: VjpContext, g: Value, axes: readonly number[]): Value {
  const x = c.node.inputs[0]!;
  const k = c.node.attrs.keepdims;
  const keep = !k || k.kind !== "int" || k.value !== 0;
  const norm = axes.map((a) => normAxis(a, x.rank));
  const g2 = keep ? g : unsqueeze(g, norm);
  return expand(g2, shapeOf(x), x.shape);
}

/** Sums `g` (shaped like a broadcast result) down to `shape`, the shape of input `x`. */
export function unbroadcast(g: Value, x: Value): Value {
  if (sameShape(g.shape, x.shape)) return g;
  const lead = g.rank - x.rank;
  if (lead < 0) {
    throw new RangeError(`Cannot reduce gradient ${g} to the shape of ${x}: rank is lower`);
  }
  let r = g;
  if (lead > 0) {
    const rows = g.shape.slice(0, lead);
    const rest = g.shape.slice(lead);
    const static_ = g.shape.every((d) => typeof d === "number");
    const m = static_ ? (rows as number[]).reduce((a, b) => a * b, 1) : 0;
    if (m >= 64 && sameShape(rest, x.shape)) {
      // Σ over the leading axes as ones[1, M]·g[M, N]: a GEMM is much faster than ReduceSum.
      const n = (rest as number[]).reduce((a, b) => a * b, 1);
      const ones = hostTensor(g.dtype, [1, m]);
      (ones.data as Float32Array).fill(1);
      return reshape(matMul(g.graph.constant(ones), reshape(g, [m, n])), x.shape);
    }
    r = reduceSum(r, [...Array(lead).keys()], { keepdims: false });
  }
  const axes: number[] = [];
  x.shape.forEach((d, i) => {
    const gd = r.shape[i];
    if (d === gd) return;
    if (d === 1) axes.push(i);
    else {
      throw new RangeError(
        `Cannot reduce gradient ${g} to ${formatShape(x.shape)} of ${x}: dim ${i} differs`,
      );
    }
  });
  return axes.length ? reduceSum(r, axes, { keepdims: true }) : r;
}
