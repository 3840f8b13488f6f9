/**
 * The tape: the graph's node list in creation (topological) order, cut down to the nodes on a
 * path from the values we differentiate with respect to (`wrt`) to the targets.
 */
import { isFloat, type NodeRecord, type Value } from "@parlmt/onnx";

/** The part of a recorded graph that backward() must walk. */
export interface TapeSlice {
  /** Nodes on a wrt → target path, in forward order. */
  readonly nodes: readonly NodeRecord[];
  /** Float values that depend on some `wrt` value (their gradient is wanted). */
  readonly needsGrad: ReadonlySet<Value>;
}

/** Selects the nodes of `tape` that lie on a path from any of `wrt` to any of `targets`. */
export function sliceTape(
  tape: readonly NodeRecord[],
  targets: readonly Value[],
  wrt: readonly Value[],
): TapeSlice {
  // Forward: float values reachable from wrt.
  const needsGrad = new Set<Value>(wrt.filter((v) => isFloat(v.dtype)));
  for (const node of tape) {
    if (node.inputs.some((x) => x !== null && needsGrad.has(x))) {
      for (const y of node.outputs) if (isFloat(y.dtype)) needsGrad.add(y);
    }
  }
  // Backward: values the targets depend on.
  const feedsTarget = new Set<Value>(targets);
  const nodes: NodeRecord[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.outputs.some((y) => feedsTarget.has(y) && needsGrad.has(y))) continue;
    nodes.push(node);
    for (const x of node.inputs) if (x) feedsTarget.add(x);
  }
  return { nodes: nodes.reverse(), needsGrad };
}
