/**
 * Typed op helpers: one function per ONNX op (opset 20), taking `Value`s and options named after
 * the ONNX attributes with their ONNX defaults, and computing the static output shape.
 * Shape-changing ops (Reshape, Transpose, Split, ...) live in `ops_shape.ts`.
 */
import { attr, type Attrs, type Value } from "./graph_builder.ts";
import { type DType, isFloat } from "./dtype.ts";
import { broadcastShapes, type Dim, formatShape, normAxis, type Shape } from "./shape.ts";
import { hostTensor } from "./tensor.ts";

/** A scalar constant of `dtype` (shape `[]`). */
export function scalar(like: Value, value: number, dtype: DType = like.dtype): Value {
  const t = hostTensor(dtype, []);
  t.data[0] = dtype === "int64" ? BigInt(value) as never : value;
  return like.graph.constant(t);
}

/** A 1-D int64 constant (axes, shapes, pads). */
export function ints(like: Value, values: readonly number[]): Value {
  const t = hostTensor("int64", [values.length], BigInt64Array.from(values.map(BigInt)));
  return like.graph.constant(t);
}

function unary(op: string, x: Value, attrs: Attrs = {}): Value {
  if (!isFloat(x.dtype) && op !== "Neg" && op !== "Abs" && op !== "Identity") {
    throw new TypeError(`Cannot apply ${op} to ${x}: needs a float tensor`);
  }
  return x.graph.node(op, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0]!;
}

function binary(op: string, a: Value, b: Value, outDtype?: DType): Value {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`Cannot apply ${op} to ${a} and ${b}: dtypes differ`);
  }
  const shape = broadcastShapes(a.shape, b.shape, op);
  return a.graph.node(op, [a, b], [{ dtype: outDtype ?? a.dtype, shape }])[0]!;
}

function asValue(like: Value, x: Value | number): Value {
  return typeof x === "number" ? scalar(like, x) : x;
}

/** a + b, broadcasting. */
export function add(a: Value, b: Value | number): Value {
  return binary("Add", a, asValue(a, b));
}
/** Elementwise sum of several tensors (ONNX Sum), broadcasting. */
export function sum(xs: readonly (Value | number)[]): Value {
  const like = xs.find((x): x is Value => typeof x !== "number");
  if (!like) throw new RangeError("Cannot sum only numbers: one tensor is needed");
  const vs = xs.map((x) => asValue(like, x));
  for (const v of vs) {
    if (v.dtype !== like.dtype) throw new TypeError(`Cannot apply Sum to ${like} and ${v}`);
  }
  const shape = vs.reduce<Dim[]>((s, v) => broadcastShapes(s, v.shape, "Sum"), []);
  return like.graph.node("Sum", vs, [{ dtype: like.dtype, shape }])[0]!;
}
/** a - b, broadcasting. */
export function sub(a: Value, b: Value | number): Value {
  return binary("Sub", a, asValue(a, b));
}
/** a * b, broadcasting. */
export function mul(a: Value, b: Value | number): Value {
  return binary("Mul", a, asValue(a, b));
}
/** a / b, broadcasting. */
export function div(a: Value, b: Value | number): Value {
  return binary("Div", a, asValue(a, b));
}
/** a ** b, broadcasting. */
export function pow(a: Value, b: Value | number): Value {
  return binary("Pow", a, asValue(a, b));
}
/** Elementwise minimum of two tensors. */
export function min(a: Value, b: Value | number): Value {
  return binary("Min", a, asValue(a, b));
}
/** Elementwise maximum of two tensors. */
export function max(a: Value, b: Value | number): Value {
  return binary("Max", a, asValue(a, b));
}
/** a == b → bool. */
export function equal(a: Value, b: Value | number): Value {
  return binary("Equal", a, asValue(a, b), "bool");
}
/** a < b → bool. */
export function less(a: Value, b: Value | number): Value {
  return binary("Less", a, asValue(a, b), "bool");
}
/** a > b → bool. */
export function greater(a: Value, b: Value | number): Value {
  return binary("Greater", a, asValue(a, b), "bool");
}
/** a <= b → bool. */
export function lessOrEqual(a: Value, b: Value | number): Value {
  return binary("LessOrEqual", a, asValue(a, b), "bool");
}
/** a >= b → bool. */
export function greaterOrEqual(a: Value, b: Value | number): Value {
  return binary("GreaterOrEqual", a, asValue(a, b), "bool");
}
/** Logical and of two bool tensors. */
export function and(a: Value, b: Value): Value {
  return binary("And", a, b, "bool");
}
/** Logical or of two bool tensors. */
export function or(a: Value, b: Value): Value {
  return binary("Or", a, b, "bool");
}
/** Logical not of a bool tensor. */
export function not(x: Value): Value {
  return x.graph.node("Not", [x], [{ dtype: "bool", shape: x.shape }])[0]!;
}

/** -x. */
export function neg(x: Value): Value {
  return unary("Neg", x);
}
/** |x|. */
export function abs(x: Value): Value {
  return unary("Abs", x);
}
/** e^x. */
export function exp(x: Value): Value {
  return unary("Exp", x);
}
/** ln x. */
export function log(x: Value): Value {
  return unary("Log", x);
}
/** √x. */
export function sqrt(x: Value): Value {
  return unary("Sqrt", x);
}
/** 1/x. */
export function reciprocal(x: Value): Value {
  return unary("Reciprocal", x);
}
/** tanh x. */
export function tanh(x: Value): Value {
  return unary("Tanh", x);
}
/** erf x. */
export function erf(x: Value): Value {
  return unary("Erf", x);
}
/** sign x ∈ {-1, 0, 1}. */
export function sign(x: Value): Value {
  return unary("Sign", x);
}
/** 1 / (1 + e^-x). */
export function sigmoid(x: Value): Value {
  return unary("Sigmoid", x);
}
/** max(x, 0). */
export function relu(x: Value): Value {
  return unary("Relu", x);
}
/** x · sigmoid(x) (SiLU/Swish; opset 20 has no single op for it). */
export function silu(x: Value): Value {
  return mul(x, sigmoid(x));
}
/** Gelu (opset 20); `approximate` is "none" (erf) or "tanh". */
export function gelu(x: Value, opts: { approximate?: "none" | "tanh" } = {}): Value {
  const { approximate = "none" } = opts;
  return unary("Gelu", x, { approximate: attr.string(approximate) });
}
/** A copy of x (used to give values graph-output names). */
export function identity(x: Value): Value {
  return unary("Identity", x);
}

/** Softmax over `axis` (default -1). */
export function softmax(x: Value, opts: { axis?: number } = {}): Value {
  const { axis = -1 } = opts;
  return unary("Softmax", x, { axis: attr.int(axis) });
}
/** Log-softmax over `axis` (default -1). */
export function logSoftmax(x: Value, opts: { axis?: number } = {}): Value {
  const { axis = -1 } = opts;
  return unary("LogSoftmax", x, { axis: attr.int(axis) });
}

/** Clip x to [lo, hi] (bounds are scalars). */
export function clip(x: Value, lo: Value | number, hi: Value | number): Value {
  return x.graph.node("Clip", [x, asValue(x, lo), asValue(x, hi)], [{
    dtype: x.dtype,
    shape: x.shape,
  }])[0]!;
}

/** cond ? a : b, broadcasting. */
export function where(cond: Value, a: Value | number, b: Value | number): Value {
  const like = typeof a === "number" ? (b as Value) : a;
  const av = asValue(like, a);
  const bv = asValue(like, b);
  const shape = broadcastShapes(broadcastShapes(cond.shape, av.shape, "Where"), bv.shape, "Where");
  return cond.graph.node("Where", [cond, av, bv], [{ dtype: av.dtype, shape }])[0]!;
}

/** Cast to dtype `to`. */
export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  const code = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 }[to];
  return x.graph.node("Cast", [x], [{ dtype: to, shape: x.shape }], { to: attr.int(code) })[0]!;
}

/** Matrix product with numpy semantics: a [..., M, K] · b [..., K, N] → [..., M, N]. */
export function matMul(a: Value, b: Value): Value {
  if (a.rank < 2 || b.rank < 2) {
    throw new RangeError(`Cannot apply MatMul to ${a} and ${b}: rank-1 operands unsupported`);
  }
  const [m, k1] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k1 !== k2 && typeof k1 === "number" && typeof k2 === "number") {
    throw new RangeError(`Cannot apply MatMul to ${a} and ${b}: inner dims ${k1} != ${k2}`);
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), "MatMul");
  return a.graph.node("MatMul", [a, b], [{ dtype: a.dtype, shape: [...batch, m!, n!] }])[0]!;
}

/** Options of Gemm, with ONNX defaults. */
export interface GemmOptions {
  /** @default 1 */
  alpha?: number;
  /** @default 1 */
  beta?: number;
  /** @default 0 */
  transA?: 0 | 1;
  /** @default 0 */
  transB?: 0 | 1;
}

/** alpha · op(A) · op(B) + beta · C for 2-D A and B. */
export function gemm(a: Value, b: Value, c: Value | null = null, opts: GemmOptions = {}): Value {
  const { alpha = 1, beta = 1, transA = 0, transB = 0 } = opts;
  if (a.rank !== 2 || b.rank !== 2) {
    throw new RangeError(`Cannot apply Gemm to ${a} and ${b}: needs 2-D operands`);
  }
  const m = transA ? a.shape[1]! : a.shape[0]!;
  const n = transB ? b.shape[0]! : b.shape[1]!;
  const attrs: Record<string, ReturnType<typeof attr.int>> = {};
  if (alpha !== 1) attrs.alpha = attr.float(alpha);
  if (beta !== 1) attrs.beta = attr.float(beta);
  if (transA) attrs.transA = attr.int(1);
  if (transB) attrs.transB = attr.int(1);
  return a.graph.node("Gemm", c ? [a, b, c] : [a, b], [{ dtype: a.dtype, shape: [m, n] }], attrs)[
    0
  ]!;
}

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced axes as size 1. @default true (ONNX keepdims=1) */
  keepdims?: boolean;
}

function reduce(op: string, x: Value, axes: readonly number[], opts: ReduceOptions): Value {
  const { keepdims = true } = opts;
  const norm = axes.map((a) => normAxis(a, x.rank, `${op} axis`));
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!norm.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return x.graph.node(op, [x, ints(x, norm)], [{ dtype: x.dtype, shape }], {
    keepdims: attr.int(keepdims ? 1 : 0),
  })[0]!;
}

/** Sum over `axes`. */
export function reduceSum(x: Value, axes: readonly number[], opts: ReduceOptions = {}): Value {
  return reduce("ReduceSum", x, axes, opts);
}
/** Mean over `axes`. */
export function reduceMean(x: Value, axes: readonly number[], opts: ReduceOptions = {}): Value {
  return reduce("ReduceMean", x, axes, opts);
}
/** Max over `axes` (not differentiable). */
export function reduceMax(x: Value, axes: readonly number[], opts: ReduceOptions = {}): Value {
  return reduce("ReduceMax", x, axes, opts);
}
/** Sum of all elements → scalar `[]`. */
export function sumAll(x: Value): Value {
  return reduceSum(x, x.shape.map((_, i) => i), { keepdims: false });
}

/** Rows of `data` along `axis` (default 0) picked by integer `indices`. */
export function gather(data: Value, indices: Value, opts: { axis?: number } = {}): Value {
  const axis = normAxis(opts.axis ?? 0, data.rank, "Gather axis");
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  return data.graph.node("Gather", [data, indices], [{ dtype: data.dtype, shape }], {
    axis: attr.int(axis),
  })[0]!;
}

/** Elements of `data` picked along `axis` by `indices` of the same rank. */
export function gatherElements(data: Value, indices: Value, opts: { axis?: number } = {}): Value {
  const axis = normAxis(opts.axis ?? 0, data.rank, "GatherElements axis");
  if (indices.rank !== data.rank) {
    throw new RangeError(`Cannot apply GatherElements to ${data} with ${indices}: ranks differ`);
  }
  return data.graph.node("GatherElements", [data, indices], [{
    dtype: data.dtype,
    shape: indices.shape,
  }], { axis: attr.int(axis) })[0]!;
}

/** Copy of `data` with `updates` scattered along `axis` at `indices` (reduction "none"|"add"). */
export function scatterElements(
  data: Value,
  indices: Value,
  updates: Value,
  opts: { axis?: number; reduction?: "none" | "add" } = {},
): Value {
  const { reduction = "none" } = opts;
  const axis = normAxis(opts.axis ?? 0, data.rank, "ScatterElements axis");
  return data.graph.node("ScatterElements", [data, indices, updates], [{
    dtype: data.dtype,
    shape: data.shape,
  }], { axis: attr.int(axis), reduction: attr.string(reduction) })[0]!;
}

/** Copy of `data` with slices `updates` written at index tuples `indices` [..., k]. */
export function scatterND(
  data: Value,
  indices: Value,
  updates: Value,
  opts: { reduction?: "none" | "add" } = {},
): Value {
  const { reduction = "none" } = opts;
  return data.graph.node("ScatterND", [data, indices, updates], [{
    dtype: data.dtype,
    shape: data.shape,
  }], { reduction: attr.string(reduction) })[0]!;
}

/** Options of LayerNormalization, with ONNX defaults. */
export interface LayerNormOptions {
  /** First normalised axis. @default -1 */
  axis?: number;
  /** @default 1e-5 */
  epsilon?: number;
}

/**
 * LayerNormalization over axes ≥ `axis`. Returns `[y, mean, invStdDev]`; autodiff uses the
 * two statistics (shape `[..., 1]`), so they are always recorded (GraphBuilder.toModel() leaves
 * them out of the model when nothing reads them).
 */
export function layerNorm(
  x: Value,
  scale: Value,
  bias: Value | null,
  opts: LayerNormOptions = {},
): [Value, Value, Value] {
  const { axis = -1, epsilon = 1e-5 } = opts;
  const a = normAxis(axis, x.rank, "LayerNormalization axis");
  const statShape = x.shape.map((d, i) => (i < a ? d : 1));
  // Mean and InvStdDev have type U ∈ {float, bfloat16} (opset 17), float even for double x.
  const statType = x.dtype === "float64" ? "float32" : x.dtype;
  const [y, mean, rstd] = x.graph.node(
    "LayerNormalization",
    bias ? [x, scale, bias] : [x, scale],
    [{ dtype: x.dtype, shape: x.shape }, { dtype: statType, shape: statShape }, {
      dtype: statType,
      shape: statShape,
    }],
    { axis: attr.int(a), epsilon: attr.float(epsilon) },
  );
  return [y!, mean!, rstd!];
}

/** `ArgMax` along `axis` → int64 (keepdims as ONNX, default true). */
export function argMax(x: Value, opts: { axis?: number; keepdims?: boolean } = {}): Value {
  const { keepdims = true } = opts;
  const axis = normAxis(opts.axis ?? 0, x.rank, "ArgMax axis");
  const shape = x.shape.flatMap((d, i) => (i !== axis ? [d] : keepdims ? [1] : []));
  return x.graph.node("ArgMax", [x], [{ dtype: "int64", shape }], {
    axis: attr.int(axis),
    keepdims: attr.int(keepdims ? 1 : 0),
  })[0]!;
}

/** Throws a `RangeError` unless `x` has `shape` (dims compared where both are numbers). */
export function expectShape(x: Value, shape: Shape, what: string): void {
  const ok = x.rank === shape.length &&
    x.shape.every((d, i) =>
      typeof d !== "number" || typeof shape[i] !== "number" || d === shape[i]
    );
  if (!ok) {
    throw new RangeError(`Cannot use ${what} ${x}: expected shape ${formatShape(shape)}`);
  }
}
