/**
 * Rotary position embedding (RoFormer; the "rotate half" layout of GPT-NeoX and Llama): each
 * head's query and key are rotated by angles proportional to their position, so q·k depends on
 * the offset between them. Built from Gather, Split, Concat, Mul and Add, which the autodiff
 * differentiates; the angle tables are constants of the graph.
 */
import {
  add,
  concat,
  gather,
  type GraphBuilder,
  hostTensor,
  mul,
  split,
  unsqueeze,
  type Value,
} from "@parlmt/onnx";
import type { ModelConfig } from "./config.ts";

/** The base of the rotation frequencies. */
export const ROTARY_BASE = 10_000;

/**
 * `cos` and signed `sin` tables `[positions, D]` for head width D: column j < D/2 and j + D/2
 * share the frequency base^(-2j/D); `sin` is negated in the first half, so that
 * rotate(x) = x·cos + swapHalves(x)·sin.
 */
export function rotaryTables(
  positions: number,
  D: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = D / 2;
  const cos = new Float32Array(positions * D);
  const sin = new Float32Array(positions * D);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * ROTARY_BASE ** (-2 * j / D);
      const c = Math.cos(angle), s = Math.sin(angle);
      cos[p * D + j] = cos[p * D + half + j] = c;
      sin[p * D + j] = -s;
      sin[p * D + half + j] = s;
    }
  }
  return { cos, sin };
}

const tablesByGraph = new WeakMap<GraphBuilder, Map<string, { cos: Value; sin: Value }>>();

/**
 * Rotates `x` `[B, H, T, D]` by the positions `positionIds` (`[B, T]` or `[T]`, int64). The
 * tables are added to the graph once per dtype.
 */
export function rotary(c: ModelConfig, x: Value, positionIds: Value): Value {
  const D = c.nEmbd / c.nHead;
  const g = x.graph;
  let byType = tablesByGraph.get(g);
  if (!byType) tablesByGraph.set(g, byType = new Map());
  let tables = byType.get(x.dtype);
  if (!tables) {
    const { cos, sin } = rotaryTables(c.blockSize, D);
    const table = (data: Float32Array) => {
      const t = hostTensor(x.dtype, [c.blockSize, D]);
      (t.data as Float32Array | Float64Array).set(data);
      return g.constant(t);
    };
    byType.set(x.dtype, tables = { cos: table(cos), sin: table(sin) });
  }
  // [B, T, D] → [B, 1, T, D] (broadcast over heads); [T, D] broadcasts as it is
  const at = (t: Value) => {
    const v = gather(t, positionIds);
    return positionIds.shape.length === 2 ? unsqueeze(v, [1]) : v;
  };
  const [x1, x2] = split(x, [D / 2, D / 2], { axis: 3 });
  return add(mul(x, at(tables.cos)), mul(concat([x2!, x1!], 3), at(tables.sin)));
}
