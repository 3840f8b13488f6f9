/**
 * Reverse-mode autodiff over the recorded graph: walks the tape backwards along the paths that
 * reach the targets, applies each node's VJP rule, sums the gradients of values used several
 * times and reduces broadcast gradients to the input's shape.
 */
import { add, constantOfShape, hostTensor, shapeOf, type Value, zerosLike } from "@parlmt/onnx";
import { sliceTape } from "./tape.ts";
import { vjpRule } from "./vjp_rules.ts";
import { collapseRegions } from "./custom.ts";
import { unbroadcast } from "./_util.ts";

/** Options of backward(). */
export interface BackwardOptions {
  /** Gradient of the target (dL/dtarget); default: ones shaped like the target. */
  seed?: Value;
}

/** Emits nodes computing d target / d w for each `w` in `wrt` (zeros where unconnected). */
export function backward(
  target: Value,
  wrt: readonly Value[],
  opts: BackwardOptions = {},
): Value[] {
  const graph = target.graph;
  const { tape, rules } = collapseRegions(graph, graph.nodes);
  const { nodes, needsGrad } = sliceTape(tape, [target], wrt);
  const pending = new Map<Value, Value[]>();
  const push = (v: Value, g: Value) => {
    const list = pending.get(v);
    if (list) list.push(g);
    else pending.set(v, [g]);
  };
  const take = (v: Value): Value | null => {
    const list = pending.get(v);
    if (!list) return null;
    const sum = list.reduce((a, b) => add(a, b));
    pending.set(v, [sum]);
    return sum;
  };
  push(target, opts.seed ?? ones(target));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const grads = node.outputs.map(take);
    if (grads.every((g) => g === null)) continue;
    const needs = node.inputs.map((x) => x !== null && needsGrad.has(x));
    const rule = rules.get(node) ?? vjpRule(node);
    const inGrads = graph.scope(`grad/${node.opType}`, () => rule({ node, grads, needs }));
    node.inputs.forEach((x, j) => {
      if (!x || !needs[j]) return;
      const g = inGrads[j];
      if (!g) {
        throw new TypeError(
          `Cannot differentiate op "${node.opType}" with respect to input ${j} (${x})`,
        );
      }
      push(x, graph.scope("grad/sum", () => unbroadcast(g, x)));
    });
  }
  return wrt.map((w) => take(w) ?? zerosLike(w));
}

function ones(v: Value): Value {
  if (v.shape.every((d) => typeof d === "number")) {
    const t = hostTensor(v.dtype, v.shape as number[]);
    (t.data as Float32Array).fill(1);
    return v.graph.constant(t);
  }
  return constantOfShape(shapeOf(v), 1, v.dtype, v.shape);
}
