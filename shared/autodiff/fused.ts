/**
 * Composite ops with fused VJPs (see custom.ts): the forward is the usual chain of ONNX ops, the
 * backward a short hand-derived one.
 */
import {
  add,
  concat,
  exp,
  gatherElements,
  type HostTensor,
  hostTensor,
  ints,
  logSoftmax,
  matMul,
  max,
  mul,
  neg,
  reduceSum,
  scatterElements,
  slice,
  softmax,
  split,
  squeeze,
  sub,
  unsqueeze,
  type Value,
} from "@parlmt/onnx";
import { withCustomGrad } from "./custom.ts";
import { swapLast } from "./_util.ts";

/**
 * log p(target) `[..., N]` and the log-softmax `[..., N, V]` of `logits` over the last axis, with
 * the fused VJP dlogits = g_lsm − softmax·(g_logp + Σ g_lsm) + one-hot(targets)·g_logp (the
 * classic softmax − one-hot of cross-entropy when only log p(target) has a gradient).
 */
export function logSoftmaxGather(logits: Value, targets: Value): { logp: Value; lsm: Value } {
  const idx = () => unsqueeze(targets, [-1]);
  const [logp, lsm] = withCustomGrad([logits, targets], () => {
    const lsm = logSoftmax(logits);
    const logp = squeeze(gatherElements(lsm, idx(), { axis: -1 }), [-1]);
    return [logp, lsm] as const;
  }, (c) => {
    const [gLogp, gLsm] = c.grads;
    if (!c.needs[0]) return [null, null];
    const lsm = c.node.outputs[1]!;
    const gl = gLogp ? unsqueeze(gLogp, [-1]) : null; // [..., N, 1]
    let total = gLsm ? reduceSum(gLsm, [-1]) : null; // Σ over V of g_lsm
    if (gl) total = total ? add(total, gl) : gl;
    let d = mul(exp(lsm), neg(total!)); // −softmax·total
    if (gLsm) d = add(d, gLsm);
    if (gl) d = scatterElements(d, idx(), gl, { axis: -1, reduction: "add" });
    return [d, null];
  });
  return { logp, lsm };
}

/** Options of attention(). */
export interface AttentionOptions {
  /** Multiplies the scores q·kᵀ (e.g. 1/√D). @default 1 */
  scale?: number;
  /**
   * Split the queries into this many blocks, each multiplied only with the keys its rows may
   * attend. Needs a constant 2-D `bias` and static lengths; a causal mask then skips the
   * masked upper triangle's work (blocks of the diagonal only). @default 1
   */
  queryBlocks?: number;
  /**
   * Per-row lower bound `[..., Tq, 1]` on the biased scores, e.g. from selfScoreFloor(): scores
   * below it are raised to it. It gets no gradient, and the VJP treats raised entries as if
   * they were not clamped; both only matter at weights ≤ e^-60, i.e. not in float32.
   */
  floor?: Value;
}

/** How far below a row's reference score selfScoreFloor() puts the floor (weights ≤ e^-60). */
export const SCORE_FLOOR_MARGIN = 60;

/**
 * The floor for attention() of causal self-attention: each query's score against its own key,
 * `scale·rowsum(q∘kSelf)` `[..., Tq, 1]`, plus `offset`: −60, or `[..., Tq, 1]` values of the
 * bias of that key minus 60 where it may be masked (see selfFloorOffset()). A masked key's score
 * becomes max(s − 1e9, floor): its softmax weight stays ≤ e^-60 of the row's largest (nil in
 * float32, as with the bias alone). Scores more than ~80 below the row's maximum make the CPU
 * softmax kernel compute subnormal floats (a masked causal softmax then costs twice an unmasked
 * one, and the product with v slows down too); the floor keeps masked scores out of that range
 * whenever no attended key outscores the query's own key by more than ~20. `kSelf`
 * `[..., Tq, D]`: the queries' own keys.
 */
export function selfScoreFloor(
  q: Value,
  kSelf: Value,
  scale: number,
  offset: Value | number = -SCORE_FLOOR_MARGIN,
): Value {
  let s = reduceSum(mul(q, kSelf), [-1]); // [..., Tq, 1]
  if (scale !== 1) s = mul(s, scale);
  return add(s, offset);
}

/** The `offset` of selfScoreFloor() from the bias of each query's own key. */
export function selfFloorOffset(selfBias: Value): Value {
  return sub(selfBias, SCORE_FLOOR_MARGIN);
}

/**
 * softmax(q·kᵀ·scale + bias)·v over the last two axes: q `[..., Tq, D]`, k and v `[..., Tk, D]`,
 * `bias` broadcastable to `[..., Tq, Tk]` (additive mask, no gradient). The fused VJP uses
 * rowsum(dP∘P) = rowsum(dO∘O), so the backward makes two passes over the `[Tq, Tk]` scores
 * instead of four.
 */
export function attention(
  q: Value,
  k: Value,
  v: Value,
  bias: Value,
  opts: AttentionOptions = {},
): Value {
  const { scale = 1, queryBlocks = 1, floor } = opts;
  const blocks = planBlocks(q, k, bias, queryBlocks);
  const floors = !floor
    ? null
    : !blocks
    ? [floor]
    : floor.shape.at(-2) === 1
    ? blocks.map(() => floor)
    : split(floor, blocks.map((b) => b.rows), { axis: -2 });
  // Per block: rows of q, key prefix length, bias block, and (after build) p and o.
  const parts: { q: Value; k: Value; v: Value; p: Value; o: Value }[] = [];
  const [o] = withCustomGrad([q, k, v, bias], () => {
    const qs = blocks ? split(q, blocks.map((b) => b.rows), { axis: -2 }) : [q];
    qs.forEach((qi, i) => {
      const b = blocks?.[i];
      const ki = b ? prefix(k, b.keys) : k;
      const vi = b ? prefix(v, b.keys) : v;
      const bi = b ? q.graph.constant(b.bias) : bias;
      let s = matMul(qi, swapLast(ki));
      if (scale !== 1) s = mul(s, scale);
      let sb = add(s, bi);
      if (floors) sb = max(sb, floors[i]!);
      const p = softmax(sb);
      parts.push({ q: qi, k: ki, v: vi, p, o: matMul(p, vi) });
    });
    return [parts.length === 1 ? parts[0]!.o : concat(parts.map((x) => x.o), -2)] as const;
  }, (c) => {
    const dO = c.grads[0];
    if (!dO) return [null, null, null, null];
    const dOs = parts.length === 1 ? [dO] : split(dO, blocks!.map((b) => b.rows), { axis: -2 });
    const dq: Value[] = [];
    const dk: Value[] = [];
    const dv: Value[] = [];
    parts.forEach((x, i) => {
      const g = dOs[i]!;
      if (c.needs[2]) dv.push(matMul(swapLast(x.p), g));
      if (!c.needs[0] && !c.needs[1]) return;
      const dP = matMul(g, swapLast(x.v));
      const r = reduceSum(mul(g, x.o), [-1]); // = rowsum(dP∘P)
      const dS = mul(x.p, sub(dP, r)); // d(scores) / scale
      const scaled = (y: Value) => (scale !== 1 ? mul(y, scale) : y);
      if (c.needs[0]) dq.push(scaled(matMul(dS, x.k)));
      if (c.needs[1]) dk.push(scaled(matMul(swapLast(dS), x.q)));
    });
    const keys = (gs: Value[]) => (blocks ? sumPrefixes(gs, blocks, k) : gs[0]!);
    return [
      c.needs[0] ? (dq.length === 1 ? dq[0]! : concat(dq, -2)) : null,
      c.needs[1] ? keys(dk) : null,
      c.needs[2] ? keys(dv) : null,
      null,
    ];
  });
  return o;
}

interface Block {
  /** Query rows in this block. */
  readonly rows: number;
  /** Leading keys any of those rows attends (the rest are masked for all of them). */
  readonly keys: number;
  /** The block's `[rows, keys]` slice of the bias. */
  readonly bias: HostTensor;
}

/** Query blocks of a constant 2-D bias, or null when blocking does not apply. */
function planBlocks(q: Value, k: Value, bias: Value, n: number): Block[] | null {
  if (n <= 1) return null;
  const t = bias.graph.constantValue(bias);
  const [Tq, Tk] = [q.shape.at(-2), k.shape.at(-2)];
  if (!t || (t.dtype !== "float32" && t.dtype !== "float64") || t.dims.length !== 2) return null;
  if (typeof Tq !== "number" || typeof Tk !== "number") return null;
  if (t.dims[0] !== Tq || t.dims[1] !== Tk || Tq < n) return null;
  const d = t.data as Float32Array | Float64Array;
  // A key column is "needed" by a row unless the bias masks it (≤ -1e4 → weight 0 in float32).
  const lastNeeded = (row: number) => {
    for (let j = Tk - 1; j >= 0; j--) if (d[row * Tk + j]! > -1e4) return j;
    return -1;
  };
  const out: Block[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = Math.round(((i + 1) * Tq) / n);
    let keys = 0;
    for (let r = start; r < end; r++) keys = Math.max(keys, lastNeeded(r) + 1);
    // A row with every key masked would be all -1e9: keep its (uniform) softmax exact.
    for (let r = start; r < end; r++) if (lastNeeded(r) < 0) keys = Tk;
    const b = hostTensor(t.dtype, [end - start, keys]);
    for (let r = start; r < end; r++) {
      (b.data as Float32Array).set(d.subarray(r * Tk, r * Tk + keys), (r - start) * keys);
    }
    out.push({ rows: end - start, keys, bias: b });
    start = end;
  }
  return out;
}

/** The first `n` entries of x along axis -2. */
function prefix(x: Value, n: number): Value {
  if (x.shape.at(-2) === n) return x;
  const shape = x.shape.map((d, i) => (i === x.rank - 2 ? n : d));
  return slice(x, ints(x, [0]), ints(x, [n]), [x.rank - 2], shape);
}

/** Σ_i of gradients `[..., keys_i, D]` of key prefixes, as one `[..., Tk, D]` gradient. */
function sumPrefixes(gs: readonly Value[], blocks: readonly Block[], like: Value): Value {
  const Tk = like.shape.at(-2) as number;
  // Cut every prefix gradient at the block boundaries, sum per segment, concatenate.
  const cuts = [...new Set([0, ...blocks.map((b) => b.keys), Tk])].sort((a, b) => a - b);
  const segments = cuts.slice(1).map(() => [] as Value[]);
  for (const gi of gs) {
    const len = gi.shape.at(-2) as number;
    const sizes = cuts.slice(1).map((e, j) => Math.min(e, len) - Math.min(cuts[j]!, len))
      .filter((s) => s > 0);
    const pieces = sizes.length === 1 ? [gi] : split(gi, sizes, { axis: -2 });
    pieces.forEach((p, j) => segments[j]!.push(p));
  }
  const sums = segments.map((s, j) => {
    if (s.length > 0) return s.reduce((a, b) => add(a, b));
    // Keys no query attends: zero gradient (static shapes only, as blocking requires).
    const dims = like.shape.map((d, i) => (i === like.rank - 2 ? cuts[j + 1]! - cuts[j]! : d));
    if (!dims.every((d) => typeof d === "number")) {
      throw new RangeError(`Cannot zero the gradient of unattended keys of ${like}`);
    }
    return like.graph.constant(hostTensor(like.dtype, dims as number[]));
  });
  return sums.length === 1 ? sums[0]! : concat(sums, -2);
}
