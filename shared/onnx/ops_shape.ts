/** Typed helpers of the shape ops (opset 20): Reshape, Transpose, Split, Concat, Slice, ... */
import { attr, type Value } from "./graph_builder.ts";
import { type Dim, dimProduct, formatShape, normAxis, numel, type Shape } from "./shape.ts";
import { ints } from "./ops.ts";
import { type DType } from "./dtype.ts";
import { hostTensor } from "./tensor.ts";

/**
 * Reshape to `shape` (ONNX semantics: 0 copies the input dim, -1 is inferred). Symbolic dims may
 * be passed by name when they equal an input dim at the same position.
 */
export function reshape(x: Value, shape: readonly Dim[]): Value {
  const spec: number[] = [];
  const out: Dim[] = [];
  let inferAt = -1;
  shape.forEach((d, i) => {
    if (typeof d === "string") {
      if (x.shape[i] !== d) {
        throw new RangeError(`Cannot reshape ${x} to ${formatShape(shape)}: symbolic dim "${d}"`);
      }
      spec.push(0);
      out.push(d);
    } else if (d === 0) {
      spec.push(0);
      out.push(x.shape[i]!);
    } else {
      spec.push(d);
      out.push(d);
      if (d === -1) inferAt = i;
    }
  });
  if (inferAt >= 0) {
    const total = numel(x.shape);
    const known = numel(out.filter((_, i) => i !== inferAt));
    if (total !== undefined && known !== undefined) out[inferAt] = total / known;
    else {
      // The inferred dim is the product of the input dims not matched by the rest.
      const rest = out.filter((_, i) => i !== inferAt);
      const left = [...x.shape];
      for (const d of rest) {
        const j = left.indexOf(d);
        if (j >= 0) left.splice(j, 1);
      }
      out[inferAt] = dimProduct(left);
    }
  }
  return x.graph.node("Reshape", [x, ints(x, spec)], [{ dtype: x.dtype, shape: out }])[0]!;
}

/** Reshape to the runtime shape `shape` (an int64 vector), with static result `outShape`. */
export function reshapeTo(x: Value, shape: Value, outShape: Shape): Value {
  return x.graph.node("Reshape", [x, shape], [{ dtype: x.dtype, shape: outShape }])[0]!;
}

/** Reshape to the runtime shape of `like` (autodiff uses this to undo reshapes). */
export function reshapeLike(x: Value, like: Value): Value {
  return x.graph.node("Reshape", [x, shapeOf(like)], [{ dtype: x.dtype, shape: like.shape }])[0]!;
}

/** Runtime shape of x as an int64 vector. */
export function shapeOf(x: Value): Value {
  return x.graph.node("Shape", [x], [{ dtype: "int64", shape: [x.rank] }])[0]!;
}

/** Permute axes (default: reverse them). */
export function transpose(x: Value, perm?: readonly number[]): Value {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank) {
    throw new RangeError(`Cannot transpose ${x} with perm [${p.join(", ")}]: rank mismatch`);
  }
  return x.graph.node("Transpose", [x], [{ dtype: x.dtype, shape: p.map((i) => x.shape[i]!) }], {
    perm: attr.ints(p),
  })[0]!;
}

/** Split along `axis` into parts of the given static `sizes`. */
export function split(x: Value, sizes: readonly number[], opts: { axis?: number } = {}): Value[] {
  const axis = normAxis(opts.axis ?? 0, x.rank, "Split axis");
  const total = x.shape[axis];
  if (typeof total === "number" && sizes.reduce((a, b) => a + b, 0) !== total) {
    throw new RangeError(`Cannot split ${x} into [${sizes.join(", ")}] along axis ${axis}`);
  }
  const outs = sizes.map((s) => ({
    dtype: x.dtype,
    shape: x.shape.map((d, i) => (i === axis ? s : d)),
  }));
  return x.graph.node("Split", [x, ints(x, sizes)], outs, { axis: attr.int(axis) });
}

/** Concatenate along `axis`. */
export function concat(xs: readonly Value[], axis: number): Value {
  const first = xs[0];
  if (!first) throw new RangeError("Cannot concat an empty list of values");
  const a = normAxis(axis, first.rank, "Concat axis");
  const dims = xs.map((x) => x.shape[a]!);
  const total: Dim = dims.every((d) => typeof d === "number")
    ? (dims as number[]).reduce((p, q) => p + q, 0)
    : dims.filter((d) => d !== 0).join("+");
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return first.graph.node("Concat", xs, [{ dtype: first.dtype, shape }], { axis: attr.int(a) })[
    0
  ]!;
}

/** Insert size-1 axes at `axes` (positions in the output). */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, "Unsqueeze axis"));
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]!);
  return x.graph.node("Unsqueeze", [x, ints(x, norm)], [{ dtype: x.dtype, shape }])[0]!;
}

/** Remove size-1 axes `axes`. */
export function squeeze(x: Value, axes: readonly number[]): Value {
  const norm = axes.map((a) => normAxis(a, x.rank, "Squeeze axis"));
  const shape = x.shape.filter((_, i) => !norm.includes(i));
  return x.graph.node("Squeeze", [x, ints(x, norm)], [{ dtype: x.dtype, shape }])[0]!;
}

/** Broadcast x to the runtime shape `shape` (an int64 vector) with static result `outShape`. */
export function expand(x: Value, shape: Value, outShape: Shape): Value {
  return x.graph.node("Expand", [x, shape], [{ dtype: x.dtype, shape: outShape }])[0]!;
}

/** A tensor of runtime shape `shape` (int64 vector) filled with `value`. */
export function constantOfShape(shape: Value, value: number, dtype: DType, outShape: Shape): Value {
  const t = hostTensor(dtype, [1]);
  t.data[0] = dtype === "int64" ? BigInt(value) as never : value;
  return shape.graph.node("ConstantOfShape", [shape], [{ dtype, shape: outShape }], {
    value: attr.tensor(t),
  })[0]!;
}

/** Zeros shaped like x (runtime shape). */
export function zerosLike(x: Value): Value {
  return constantOfShape(shapeOf(x), 0, x.dtype, x.shape);
}

/** Slice `starts..ends` along `axes` (steps 1), static output dims given by the caller. */
export function slice(
  x: Value,
  starts: Value,
  ends: Value,
  axes: readonly number[],
  outShape: Shape,
): Value {
  return x.graph.node("Slice", [x, starts, ends, ints(x, axes)], [{
    dtype: x.dtype,
    shape: outShape,
  }])[0]!;
}

/** [start, start+delta, ...) below limit, from scalar values of one dtype. */
export function range(start: Value, limit: Value, delta: Value, length: Dim): Value {
  return start.graph.node("Range", [start, limit, delta], [{
    dtype: start.dtype,
    shape: [length],
  }])[0]!;
}

/** Size of dim `axis` of x at run time, as an int64 scalar `[]`. */
export function dimOf(x: Value, axis: number): Value {
  const a = normAxis(axis, x.rank);
  const s = x.graph.node("Shape", [x], [{ dtype: "int64", shape: [1] }], {
    start: attr.int(a),
    end: attr.int(a + 1),
  })[0]!;
  return squeeze(s, [0]);
}
