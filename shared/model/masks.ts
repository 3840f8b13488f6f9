/** Attention biases: 0 where a query may attend a key, -1e9 where it may not. */
import {
  add,
  cast,
  dimOf,
  hostTensor,
  ints,
  lessOrEqual,
  range,
  scalar,
  slice,
  unsqueeze,
  type Value,
  where,
} from "@parlmt/onnx";

/** Large negative logit added to masked scores (finite, so fully masked rows stay finite). */
export const MASKED = -1e9;

/** Constant causal bias `[T, T]` for training graphs with a static length. */
export function staticCausalBias(like: Value, T: number): Value {
  const t = hostTensor(like.dtype, [T, T]);
  const d = t.data as Float32Array;
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) d[i * T + j] = MASKED;
  return like.graph.constant(t);
}

/**
 * Run-time bias `[B, 1, T, P+T]` from `attention_mask` `[B, P+T]` (1 = real token) and the
 * causal rule key index ≤ P + query index, where P = `pastLength` (an int64 scalar).
 */
export function cacheCausalBias(
  inputIds: Value,
  attentionMask: Value,
  pastLength: Value,
  dtype: "float32" | "float64" = "float32",
): Value {
  const seq = dimOf(inputIds, 1);
  const total = add(pastLength, seq);
  const one = scalar(seq, 1);
  const kIdx = range(scalar(seq, 0), total, one, attentionMask.shape[1]!); // [P+T]
  const qIdx = range(pastLength, total, one, inputIds.shape[1]!); // [T]
  const causal = lessOrEqual(unsqueeze(kIdx, [0]), unsqueeze(qIdx, [1])); // [T, P+T]
  const zero = scalar(attentionMask, 0, dtype);
  const masked = scalar(attentionMask, MASKED, dtype);
  const causalBias = where(causal, zero, masked); // [T, P+T]
  const keep = cast(unsqueeze(attentionMask, [1, 2]), "bool"); // [B, 1, 1, P+T]
  return add(causalBias, where(keep, zero, masked)); // [B, 1, T, P+T]
}

/**
 * Bias `[B, 1, T, 1]` of each query's own key (0, or -1e9 where `attention_mask` masks the
 * token itself), for the attention's score floor (see `selfScoreFloor`).
 */
export function cacheSelfBias(
  inputIds: Value,
  attentionMask: Value,
  pastLength: Value,
  dtype: "float32" | "float64" = "float32",
): Value {
  const starts = unsqueeze(pastLength, [0]);
  const own = slice(attentionMask, starts, ints(attentionMask, [2 ** 62]), [1], [
    attentionMask.shape[0]!,
    inputIds.shape[1]!,
  ]); // [B, T]: the mask of positions P..P+T-1
  const keep = cast(unsqueeze(own, [1, 3]), "bool"); // [B, 1, T, 1]
  return where(keep, scalar(attentionMask, 0, dtype), scalar(attentionMask, MASKED, dtype));
}

/** Bias `[B, 1, 1, K]` from `attention_mask` `[B, K]` alone (1 = real token): no causal part. */
export function paddingBias(attentionMask: Value, dtype: "float32" | "float64" = "float32"): Value {
  const keep = cast(unsqueeze(attentionMask, [1, 2]), "bool"); // [B, 1, 1, K]
  return where(keep, scalar(attentionMask, 0, dtype), scalar(attentionMask, MASKED, dtype));
}
