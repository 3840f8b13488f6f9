/**
 * The inference graph with KV cache, in Hugging Face / Optimum decoder conventions:
 * `input_ids`, `attention_mask`, `position_ids`, `past_key_values.N.key|value` → `logits`,
 * `present.N.key|value`. Weights are initializers (fastest) or graph inputs (hot-swappable).
 */
import { dimOf, GraphBuilder, type Value } from "@parlmt/onnx";
import type { ModelConfig } from "./config.ts";
import { decoderForward, type LayerCache } from "./decoder.ts";
import { cacheCausalBias, cacheSelfBias, paddingBias } from "./masks.ts";
import { tokenLogprobs } from "./loss.ts";
import { paramSpecs, type Weights } from "./weights.ts";

/** Symbolic dimension names of the inference graph. */
export const DIMS = {
  batch: "batch_size",
  seq: "sequence_length",
  past: "past_sequence_length",
  total: "past_sequence_length+sequence_length",
} as const;

/** Names of the cache inputs and outputs of layer `l`. */
export const CACHE_NAMES = {
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
} as const;

/** Options of the inference and logprob graphs. */
export interface InferenceGraphOptions {
  /** Bake these weights in as initializers; when omitted, weights are graph inputs. */
  readonly weights?: Weights;
}

function weightValues(g: GraphBuilder, c: ModelConfig, weights?: Weights): Map<string, Value> {
  return new Map(
    paramSpecs(c).map((s) => {
      const t = weights?.get(s.name);
      return [s.name, t ? g.initializer(s.name, t) : g.input(s.name, "float32", s.shape)];
    }),
  );
}

/** The `past_key_values.N.key|value` inputs, `[batch, heads, past, head width]` per layer. */
function cacheInputs(g: GraphBuilder, c: ModelConfig): LayerCache[] {
  const D = c.nEmbd / c.nHead;
  const shape = [DIMS.batch, c.nHead, DIMS.past, D];
  return Array.from({ length: c.nLayer }, (_, l) => ({
    key: g.input(CACHE_NAMES.pastKey(l), "float32", shape),
    value: g.input(CACHE_NAMES.pastValue(l), "float32", shape),
  }));
}

/** Marks `logits` and the `present.N.key|value` caches as the graph's outputs. */
function withOutputs(
  g: GraphBuilder,
  logits: Value,
  presents: readonly LayerCache[],
): GraphBuilder {
  g.output(logits, "logits");
  presents.forEach((p, l) => {
    g.output(p.key, CACHE_NAMES.presentKey(l));
    g.output(p.value, CACHE_NAMES.presentValue(l));
  });
  return g;
}

/** Builds the KV-cache inference graph. */
export function buildInferenceGraph(
  c: ModelConfig,
  opts: InferenceGraphOptions = {},
): GraphBuilder {
  const g = new GraphBuilder("decoder");
  const w = weightValues(g, c, opts.weights);
  const { batch, seq, total } = DIMS;
  const inputIds = g.input("input_ids", "int64", [batch, seq]);
  const attentionMask = g.input("attention_mask", "int64", [batch, total]);
  const positionIds = g.input("position_ids", "int64", [batch, seq]);
  const cache = cacheInputs(g, c);
  const pastLength = dimOf(cache[0]!.key, 2);
  const bias = cacheCausalBias(inputIds, attentionMask, pastLength);
  const { logits, presents } = decoderForward(c, w, {
    inputIds,
    positionIds,
    attnBias: bias,
    attnSelfBias: cacheSelfBias(inputIds, attentionMask, pastLength),
    inference: true,
    past: cache,
  });
  return withOutputs(g, logits, presents);
}

/**
 * Builds the decode-step graph: the inference graph (same inputs, outputs and names) for exactly
 * one new token per row, `input_ids` and `position_ids` `[B, 1]`. With one query per row the
 * causal rule masks nothing, so the bias is the padding mask alone, heads need no transpose and
 * Q/K/V come from one GEMM: fewer and cheaper nodes per generated token.
 */
export function buildDecodeGraph(c: ModelConfig, opts: InferenceGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder("decoder_step");
  const w = weightValues(g, c, opts.weights);
  const { batch, past } = DIMS;
  const inputIds = g.input("input_ids", "int64", [batch, 1]);
  const attentionMask = g.input("attention_mask", "int64", [batch, `${past}+1`]);
  const positionIds = g.input("position_ids", "int64", [batch, 1]);
  const cache = cacheInputs(g, c);
  const { logits, presents } = decoderForward(c, w, {
    inputIds,
    positionIds,
    attnBias: paddingBias(attentionMask),
    inference: true,
    past: cache,
  });
  return withOutputs(g, logits, presents);
}

/**
 * Builds the logprob graph: `input_ids`, `targets` `[B, T]` (and `attention_mask` `[B, T]`) →
 * `logprobs` `[B, T]` = log p(targets[t] | input_ids[..t]), no cache.
 */
export function buildLogprobGraph(c: ModelConfig, opts: InferenceGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder("logprobs");
  const w = weightValues(g, c, opts.weights);
  const { batch, seq } = DIMS;
  const inputIds = g.input("input_ids", "int64", [batch, seq]);
  const targets = g.input("targets", "int64", [batch, seq]);
  const attentionMask = g.input("attention_mask", "int64", [batch, seq]);
  const positionIds = g.input("position_ids", "int64", [batch, seq]);
  const zero = g.constant({ dtype: "int64", dims: [], data: new BigInt64Array(1) });
  const bias = cacheCausalBias(inputIds, attentionMask, zero);
  const attnSelfBias = cacheSelfBias(inputIds, attentionMask, zero);
  const { logits } = decoderForward(c, w, {
    inputIds,
    positionIds,
    attnBias: bias,
    attnSelfBias,
    inference: true,
  });
  g.output(tokenLogprobs(logits, targets).logp, "logprobs");
  return g;
}
