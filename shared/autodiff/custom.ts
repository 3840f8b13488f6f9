/**
 * Custom gradients of whole sub-graphs: a region of recorded nodes (from its `inputs` to its
 * `outputs`) that backward() treats as one node with a hand-written VJP rule. Fused rules emit
 * fewer and cheaper backward nodes than the chain of per-op rules, e.g. softmax cross-entropy
 * (softmax − one-hot) or attention (rowsum(dO·O) instead of rowsum(dP·P)).
 */
import { type GraphBuilder, isFloat, type NodeRecord, type Value } from "@parlmt/onnx";
import type { VjpRule } from "./vjp_rules.ts";

/** A recorded region with a custom VJP. */
interface Region {
  readonly nodes: ReadonlySet<NodeRecord>;
  /** The synthetic node backward() walks instead of the region's nodes. */
  readonly node: NodeRecord;
  readonly rule: VjpRule;
}

const REGIONS = new WeakMap<GraphBuilder, Region[]>();

/**
 * Records the nodes `build` adds as one differentiable unit from `inputs` to the values it
 * returns. backward() then calls `rule` with a context whose `node` has `inputs` and those
 * outputs (in order), and the region's own nodes are not differentiated one by one. Values
 * made inside the region other than its outputs must not be used outside it.
 */
export function withCustomGrad<T extends readonly Value[]>(
  inputs: readonly (Value | null)[],
  build: () => T,
  rule: VjpRule,
): T {
  const g = inputs.find((x) => x !== null)?.graph;
  if (!g) throw new TypeError("Cannot record a custom-gradient region without inputs");
  const start = g.nodes.length;
  const outputs = build();
  const nodes = new Set(g.nodes.slice(start));
  if (nodes.size === 0) throw new RangeError("Cannot record a custom-gradient region: no nodes");
  const node: NodeRecord = {
    opType: "CustomGrad",
    domain: "parlmt.autodiff",
    inputs: [...inputs],
    outputs: [...outputs],
    attrs: {},
  };
  const list = REGIONS.get(g) ?? [];
  list.push({ nodes, node, rule });
  REGIONS.set(g, list);
  return outputs;
}

/**
 * The tape with each custom-gradient region replaced by its synthetic node (placed where the
 * region's last node was), and the rule of each synthetic node.
 */
export function collapseRegions(
  graph: GraphBuilder,
  tape: readonly NodeRecord[],
): { tape: NodeRecord[]; rules: Map<NodeRecord, VjpRule> } {
  const regions = REGIONS.get(graph) ?? [];
  const rules = new Map<NodeRecord, VjpRule>();
  if (regions.length === 0) return { tape: [...tape], rules };
  const owner = new Map<NodeRecord, Region>();
  for (const r of regions) for (const n of r.nodes) owner.set(n, r);
  const remaining = new Map(regions.map((r) => [r, r.nodes.size]));
  const inner = new Map<Value, Region>(); // values made inside a region, not its outputs
  for (const r of regions) {
    const outs = new Set(r.node.outputs);
    for (const n of r.nodes) for (const y of n.outputs) if (!outs.has(y)) inner.set(y, r);
  }
  const out: NodeRecord[] = [];
  for (const n of tape) {
    const r = owner.get(n);
    if (!r) {
      for (const x of n.inputs) {
        if (x && isFloat(x.dtype) && inner.has(x)) {
          throw new RangeError(
            `Cannot differentiate through ${x}: it is internal to a custom-gradient region`,
          );
        }
      }
      out.push(n);
      continue;
    }
    const left = remaining.get(r)! - 1;
    remaining.set(r, left);
    if (left === 0) {
      out.push(r.node);
      rules.set(r.node, r.rule);
    }
  }
  return { tape: out, rules };
}
