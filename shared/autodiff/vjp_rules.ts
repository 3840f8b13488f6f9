/**
 * THE table of vector-Jacobian products: ONNX op type → function that, given the gradients of a
 * node's outputs, emits ONNX nodes computing the gradients of its inputs (`null` for inputs
 * that are not differentiable or not needed). Gradients may keep the broadcast shape of the
 * output; backward() reduces them to each input's shape.
 */
import {
  add,
  and,
  cast,
  concat,
  div,
  erf,
  exp,
  gemm,
  greater,
  greaterOrEqual,
  hostTensor,
  layerNorm,
  lessOrEqual,
  matMul,
  mul,
  neg,
  type NodeRecord,
  normAxis,
  pow,
  reduceMean,
  reduceSum,
  reshape,
  reshapeLike,
  scalar,
  scatterElements,
  scatterND,
  sign,
  split,
  sub,
  transpose,
  unsqueeze,
  type Value,
  where,
  zerosLike,
} from "@parlmt/onnx";
import { expandLike, staticInts, swapLast } from "./_util.ts";

/** What a VJP rule receives. */
export interface VjpContext {
  readonly node: NodeRecord;
  /** Gradient of each output (`null` when no gradient flows into it). */
  readonly grads: readonly (Value | null)[];
  /** Whether each input's gradient is wanted. */
  readonly needs: readonly boolean[];
}

/** A VJP rule: one gradient (or null) per node input. */
export type VjpRule = (ctx: VjpContext) => readonly (Value | null)[];

const SQRT_2 = Math.SQRT2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function ins(ctx: VjpContext): Value[] {
  return ctx.node.inputs as Value[];
}
function out(ctx: VjpContext): Value {
  return ctx.node.outputs[0]!;
}
function dy(ctx: VjpContext): Value {
  const g = ctx.grads[0];
  if (!g) throw new TypeError(`Cannot differentiate ${ctx.node.opType}: no output gradient`);
  return g;
}
function intAttr(node: NodeRecord, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.kind === "int" ? a.value : dflt;
}
function floatAttr(node: NodeRecord, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.kind === "float" ? a.value : dflt;
}
function lastAxisOnly(ctx: VjpContext): void {
  const x = ins(ctx)[0]!;
  const axis = normAxis(intAttr(ctx.node, "axis", -1), x.rank);
  if (axis !== x.rank - 1) {
    throw new RangeError(`Cannot differentiate ${ctx.node.opType} over axis ${axis}: last only`);
  }
}

/** op type → VJP rule. */
export const VJP_RULES: Readonly<Record<string, VjpRule>> = {
  // y = a + b: da = dy, db = dy
  Add: (c) => [dy(c), dy(c)],
  // y = a - b: da = dy, db = -dy
  Sub: (c) => [dy(c), c.needs[1] ? neg(dy(c)) : null],
  // y = a·b: da = dy·b, db = dy·a
  Mul: (c) => {
    const [a, b] = ins(c);
    return [c.needs[0] ? mul(dy(c), b!) : null, c.needs[1] ? mul(dy(c), a!) : null];
  },
  // y = a/b: da = dy/b, db = -dy·y/b
  Div: (c) => {
    const [, b] = ins(c);
    const da = c.needs[0] || c.needs[1] ? div(dy(c), b!) : null;
    return [da, c.needs[1] ? neg(mul(da!, out(c))) : null];
  },
  // y = a^p (p constant): da = dy·p·a^(p-1)
  Pow: (c) => {
    const [a, p] = ins(c);
    return [mul(dy(c), mul(p!, pow(a!, sub(p!, 1)))), null];
  },
  // y = Σ xs: dxs = dy
  Sum: (c) => ins(c).map(() => dy(c)),
  // y = -x: dx = -dy
  Neg: (c) => [neg(dy(c))],
  // y = x: dx = dy
  Identity: (c) => [dy(c)],
  // y = e^x: dx = dy·y
  Exp: (c) => [mul(dy(c), out(c))],
  // y = ln x: dx = dy/x
  Log: (c) => [div(dy(c), ins(c)[0]!)],
  // y = √x: dx = dy/(2y)
  Sqrt: (c) => [div(mul(dy(c), 0.5), out(c))],
  // y = 1/x: dx = -dy·y²
  Reciprocal: (c) => [neg(mul(dy(c), mul(out(c), out(c))))],
  // y = tanh x: dx = dy·(1 - y²)
  Tanh: (c) => [mul(dy(c), sub(scalar(out(c), 1), mul(out(c), out(c))))],
  // y = σ(x): dx = dy·y·(1 - y)
  Sigmoid: (c) => [mul(dy(c), mul(out(c), sub(scalar(out(c), 1), out(c))))],
  // y = max(x, 0): dx = dy·[x > 0]
  Relu: (c) => [where(greater(ins(c)[0]!, 0), dy(c), 0)],
  // y = |x|: dx = dy·sign(x)
  Abs: (c) => [mul(dy(c), sign(ins(c)[0]!))],
  // y = erf x: dx = dy·2/√π·e^(-x²)
  Erf: (c) => {
    const x = ins(c)[0]!;
    return [mul(dy(c), mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  // y = x·Φ(x): dx = dy·(Φ(x) + x·φ(x))
  Gelu: (c) => {
    const a = c.node.attrs.approximate;
    if (a && a.kind === "string" && a.value !== "none") {
      throw new RangeError(`Cannot differentiate Gelu with approximate="${a.value}"`);
    }
    // With u = x/√2: Φ(x) + x·φ(x) = ½·(1 + erf(u) + (2/√π)·u / e^(u²)); e^(u²) = ∞ gives 0.
    const x = ins(c)[0]!;
    const u = mul(x, 1 / SQRT_2);
    const tail = div(mul(u, TWO_OVER_SQRT_PI), exp(mul(u, u)));
    // Two Adds, not one Sum: ORT's CPU Sum kernel is single-threaded.
    const twice = add(add(erf(u), tail), 1);
    return [mul(mul(dy(c), 0.5), twice)];
  },
  // y = softmax(x): dx = y·(dy - Σ dy·y)
  Softmax: (c) => {
    lastAxisOnly(c);
    const y = out(c);
    return [mul(y, sub(dy(c), reduceSum(mul(dy(c), y), [-1])))];
  },
  // y = log softmax(x): dx = dy - e^y·Σ dy
  LogSoftmax: (c) => {
    lastAxisOnly(c);
    return [sub(dy(c), mul(exp(out(c)), reduceSum(dy(c), [-1])))];
  },
  // y = clip(x, lo, hi): dx = dy·[lo ≤ x ≤ hi]
  Clip: (c) => {
    const [x, lo, hi] = ins(c);
    return [where(and(greaterOrEqual(x!, lo!), lessOrEqual(x!, hi!)), dy(c), 0), null, null];
  },
  // y = cond ? a : b: da = cond ? dy : 0, db = cond ? 0 : dy
  Where: (c) => {
    const [cond] = ins(c);
    return [
      null,
      c.needs[1] ? where(cond!, dy(c), 0) : null,
      c.needs[2] ? where(cond!, 0, dy(c)) : null,
    ];
  },
  // y = min(a, b): da = dy·[a ≤ b], db = dy·[a > b]
  Min: (c) => {
    const [a, b] = ins(c);
    const pick = lessOrEqual(a!, b!);
    return [where(pick, dy(c), 0), where(pick, 0, dy(c))];
  },
  // y = max(a, b): da = dy·[a ≥ b], db = dy·[a < b]
  Max: (c) => {
    const [a, b] = ins(c);
    const pick = greaterOrEqual(a!, b!);
    return [where(pick, dy(c), 0), where(pick, 0, dy(c))];
  },
  // y = cast(x): dx = cast(dy) back to x's float type
  Cast: (c) => {
    const x = ins(c)[0]!;
    return [x.dtype === "float32" || x.dtype === "float64" ? cast(dy(c), x.dtype) : null];
  },
  // y = a·b: da = dy·bᵀ, db = aᵀ·dy (a weight b [K, N] gets one [K, B·T]·[B·T, N] product)
  MatMul: (c) => {
    const [a, b] = ins(c);
    if (b!.rank === 2 && a!.rank >= 2) {
      const k = a!.shape.at(-1) as number;
      const n = b!.shape.at(-1) as number;
      const a2 = a!.rank > 2 ? reshape(a!, [-1, k]) : a!;
      const g2 = a!.rank > 2 ? reshape(dy(c), [-1, n]) : dy(c);
      // db [K, N] = aᵀ·dy over the B·T rows; with K < N, (dyᵀ·a)ᵀ is faster on MLAS (a wide,
      // short product, then a transpose of the small weight gradient).
      const db = typeof k === "number" && typeof n === "number" && k < n
        ? transpose(matMul(transpose(g2), a2))
        : matMul(transpose(a2), g2);
      return [c.needs[0] ? matMul(dy(c), transpose(b!)) : null, c.needs[1] ? db : null];
    }
    return [
      c.needs[0] ? matMul(dy(c), swapLast(b!)) : null,
      c.needs[1] ? matMul(swapLast(a!), dy(c)) : null,
    ];
  },
  // y = α·A'·B' + β·C: dA' = α·dy·B'ᵀ, dB' = α·A'ᵀ·dy, dC = β·dy
  Gemm: (c) => {
    const [a, b, cc] = ins(c);
    const alpha = floatAttr(c.node, "alpha", 1);
    const beta = floatAttr(c.node, "beta", 1);
    const tA = intAttr(c.node, "transA", 0) as 0 | 1;
    const tB = intAttr(c.node, "transB", 0) as 0 | 1;
    const g = dy(c);
    const da = !c.needs[0]
      ? null
      : tA
      ? gemm(b!, g, null, { alpha, transA: tB, transB: 1 })
      : gemm(g, b!, null, { alpha, transB: tB ? 0 : 1 });
    const db = !c.needs[1]
      ? null
      : tB
      ? gemm(g, a!, null, { alpha, transA: 1, transB: tA })
      : gemm(a!, g, null, { alpha, transA: tA ? 0 : 1 });
    const dc = cc && c.needs[2] ? (beta === 1 ? g : mul(g, beta)) : null;
    return cc ? [da, db, dc] : [da, db];
  },
  // y = reshape(x): dx = reshape(dy, shape(x))
  Reshape: (c) => [reshapeLike(dy(c), ins(c)[0]!), null],
  Squeeze: (c) => [reshapeLike(dy(c), ins(c)[0]!), null],
  Unsqueeze: (c) => [reshapeLike(dy(c), ins(c)[0]!), null],
  // y = transpose(x, p): dx = transpose(dy, p⁻¹)
  Transpose: (c) => {
    const p = c.node.attrs.perm;
    const x = ins(c)[0]!;
    const perm = p && p.kind === "ints" ? p.value : x.shape.map((_, i) => x.rank - 1 - i);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(dy(c), inv)];
  },
  // ys = split(x): dx = concat(dys) (zeros for outputs without gradient)
  Split: (c) => {
    const axis = intAttr(c.node, "axis", 0);
    const parts = c.node.outputs.map((y, i) => c.grads[i] ?? zerosLike(y));
    return [concat(parts, axis), null];
  },
  // y = concat(xs): dxs = split(dy) at the static input sizes
  Concat: (c) => {
    const axis = intAttr(c.node, "axis", 0);
    const sizes = ins(c).map((x) => x.shape[axis]);
    if (!sizes.every((s) => typeof s === "number")) {
      throw new RangeError(`Cannot differentiate Concat along symbolic axis ${axis}`);
    }
    return split(dy(c), sizes as number[], { axis });
  },
  // y = Σ_axes x: dx = expand(dy)
  ReduceSum: (c) => [expandLike(c, dy(c), staticInts(ins(c)[1]!)), null],
  // y = mean_axes x: dx = expand(dy)/n
  ReduceMean: (c) => {
    const x = ins(c)[0]!;
    const axes = staticInts(ins(c)[1]!);
    const n = axes.reduce((p, a) => p * (x.shape[normAxis(a, x.rank)] as number), 1);
    if (!Number.isFinite(n)) throw new RangeError(`Cannot differentiate ReduceMean of ${x}`);
    return [expandLike(c, div(dy(c), n), axes), null];
  },
  // y = data[idx] (axis 0): ddata = scatter-add(dy at idx)
  Gather: (c) => {
    const [data, idx] = ins(c);
    if (intAttr(c.node, "axis", 0) !== 0) {
      throw new RangeError("Cannot differentiate Gather along an axis other than 0");
    }
    return [scatterND(zerosLike(data!), unsqueeze(idx!, [-1]), dy(c), { reduction: "add" }), null];
  },
  // y = gather_elements(data, idx): ddata = scatter_elements-add(dy at idx)
  GatherElements: (c) => {
    const [data, idx] = ins(c);
    const axis = intAttr(c.node, "axis", 0);
    return [scatterElements(zerosLike(data!), idx!, dy(c), { axis, reduction: "add" }), null];
  },
  // y = γ·x̂ + β: dγ = Σ dy·x̂, dβ = Σ dy, dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)), dx̂ = dy·γ
  LayerNormalization: (c) => {
    const [x, gamma, beta] = ins(c);
    const [, mean, rstd] = c.node.outputs;
    const axis = normAxis(intAttr(c.node, "axis", -1), x!.rank);
    const axes = x!.shape.map((_, i) => i).filter((i) => i >= axis);
    const g = dy(c);
    const r = cast(rstd!, x!.dtype); // U may be float for double x
    const C = x!.shape.at(-1);
    if (axis !== x!.rank - 1 || typeof C !== "number" || gamma!.rank !== 1) {
      const xhat = mul(sub(x!, cast(mean!, x!.dtype)), r);
      const dxhat = mul(g, gamma!);
      const dx = mul(
        r,
        sub(sub(dxhat, reduceMean(dxhat, axes)), mul(xhat, reduceMean(mul(dxhat, xhat), axes))),
      );
      const dgamma = c.needs[1] ? mul(g, xhat) : null;
      return beta ? [dx, dgamma, c.needs[2] ? g : null] : [dx, dgamma];
    }
    // One normalized axis of static width C (the common case), with fewer full-size passes:
    // x̂ is recomputed by the op itself (unit scale), g·x̂ serves both dγ and mean(dx̂·x̂), and
    // the row means of dx̂ = g·γ are products with γ/C, so dx̂ is formed once, inside dx.
    const ones = hostTensor(x!.dtype, [C]);
    (ones.data as Float64Array).fill(1);
    const epsilon = floatAttr(c.node, "epsilon", 1e-5);
    const [xhat] = layerNorm(x!, x!.graph.constant(ones), null, { axis, epsilon });
    const gx = mul(g, xhat);
    const col = reshape(div(gamma!, C), [C, 1]); // γ/C as a column
    const m1 = matMul(g, col); // mean(dx̂)      [..., 1]
    const m2 = matMul(gx, col); // mean(dx̂·x̂)  [..., 1]
    const dx = mul(sub(mul(g, gamma!), add(mul(xhat, m2), m1)), r);
    const dgamma = c.needs[1] ? gx : null;
    return beta ? [dx, dgamma, c.needs[2] ? g : null] : [dx, dgamma];
  },
  // y = expand(x, shape): dx = dy (reduced to x's shape by backward())
  Expand: (c) => [dy(c), null],
};

/** The rule for `opType`, or a `TypeError` naming the op when there is none. */
export function vjpRule(node: NodeRecord): VjpRule {
  const rule = VJP_RULES[node.opType];
  if (!rule || node.domain !== "") {
    throw new TypeError(
      `Cannot differentiate op "${node.opType}" (output "${node.outputs[0]?.name}"): no VJP rule`,
    );
  }
  return rule;
}
