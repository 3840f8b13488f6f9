/**
 * The decoder forward pass on graph values (GPT-2 block: pre-LayerNorm, fused QKV, learned
 * positions, untied LM head). Training, inference and logprob graphs all call this.
 */
import { attention as attentionCore } from "@parlmt/autodiff";
import {
  add,
  concat,
  gather,
  gelu,
  layerNorm,
  matMul,
  relu,
  reshape,
  silu,
  split,
  transpose,
  type Value,
} from "@parlmt/onnx";
import type { ModelConfig } from "./config.ts";

/** Parameter values by weight name (graph inputs or initializers). */
export type WeightValues = ReadonlyMap<string, Value>;

/** Cached keys and values of one layer, `[B, H, P, D]` each. */
export interface LayerCache {
  readonly key: Value;
  readonly value: Value;
}

/** Inputs of decoderForward(). */
export interface ForwardInputs {
  /** Token ids `[B, T]` int64. */
  readonly inputIds: Value;
  /** Position ids `[B, T]` or `[T]` int64. */
  readonly positionIds: Value;
  /** Additive attention bias broadcastable to `[B, H, T, P+T]` (0 = attend, -1e9 = masked). */
  readonly attnBias: Value;
  /** Per-layer cache of earlier positions; omitted in training (no past). */
  readonly past?: readonly LayerCache[];
  /**
   * Query blocks of the attention when `attnBias` is a constant `[T, T]` mask (training): each
   * block only multiplies the keys it may attend, skipping the causal upper triangle. @default 1
   */
  readonly attnQueryBlocks?: number;
}

/** Outputs of decoderForward(). */
export interface ForwardOutputs {
  /** `[B, T, V]` */
  readonly logits: Value;
  /** Per-layer keys and values including this step, `[B, H, P+T, D]`. */
  readonly presents: readonly LayerCache[];
}

/** Builds the decoder's forward pass. */
export function decoderForward(
  c: ModelConfig,
  w: WeightValues,
  inp: ForwardInputs,
): ForwardOutputs {
  const p = (name: string): Value => {
    const v = w.get(name);
    if (!v) throw new RangeError(`Cannot build decoder: weight "${name}" is missing`);
    return v;
  };
  const g = inp.inputIds.graph;
  // x = wte[ids] + wpe[pos]  [B, T, C]
  let x = add(
    gather(p("transformer.wte.weight"), inp.inputIds),
    gather(p("transformer.wpe.weight"), inp.positionIds),
  );
  const presents: LayerCache[] = [];
  for (let l = 0; l < c.nLayer; l++) {
    const pre = `transformer.h.${l}.`;
    const { y, cache } = g.scope(`h${l}/attn`, () => {
      const [h] = layerNorm(x, p(pre + "ln_1.weight"), p(pre + "ln_1.bias"), {
        epsilon: c.layerNormEps,
      });
      return attention(
        c,
        h,
        p(pre + "attn.c_attn.weight"),
        p(pre + "attn.c_attn.bias"),
        p(pre + "attn.c_proj.weight"),
        p(pre + "attn.c_proj.bias"),
        inp.attnBias,
        inp.past?.[l],
        inp.attnQueryBlocks ?? 1,
      );
    });
    x = add(x, y);
    presents.push(cache);
    x = g.scope(`h${l}/mlp`, () => {
      const [h] = layerNorm(x, p(pre + "ln_2.weight"), p(pre + "ln_2.bias"), {
        epsilon: c.layerNormEps,
      });
      const a = add(matMul(h, p(pre + "mlp.c_fc.weight")), p(pre + "mlp.c_fc.bias")); // [B, T, F]
      const act = c.activation === "gelu" ? gelu(a) : c.activation === "relu" ? relu(a) : silu(a);
      return add(x, add(matMul(act, p(pre + "mlp.c_proj.weight")), p(pre + "mlp.c_proj.bias")));
    });
  }
  const [xf] = layerNorm(x, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"), {
    epsilon: c.layerNormEps,
  });
  const logits = matMul(xf, transpose(p("lm_head.weight"))); // [B, T, V]
  return { logits, presents };
}

function attention(
  c: ModelConfig,
  h: Value, // [B, T, C]
  wQkv: Value,
  bQkv: Value,
  wProj: Value,
  bProj: Value,
  bias: Value,
  past: LayerCache | undefined,
  queryBlocks: number,
): { y: Value; cache: LayerCache } {
  const [B, T] = h.shape;
  const H = c.nHead;
  const D = c.nEmbd / H;
  const qkv = add(matMul(h, wQkv), bQkv); // [B, T, 3C]
  const [q, k, v] = split(qkv, [c.nEmbd, c.nEmbd, c.nEmbd], { axis: 2 });
  const heads = (t: Value) => transpose(reshape(t, [B!, T!, H, D]), [0, 2, 1, 3]); // [B, H, T, D]
  let kh = heads(k!);
  let vh = heads(v!);
  if (past) {
    kh = concat([past.key, kh], 2); // [B, H, P+T, D]
    vh = concat([past.value, vh], 2);
  }
  // softmax(q·kᵀ/√D + bias)·v  [B, H, T, D], with a fused backward
  const att = attentionCore(heads(q!), kh, vh, bias, { scale: 1 / Math.sqrt(D), queryBlocks });
  const o = transpose(att, [0, 2, 1, 3]); // [B, T, H, D]
  const y = add(matMul(reshape(o, [B!, T!, c.nEmbd]), wProj), bProj); // [B, T, C]
  return { y, cache: { key: kh, value: vh } };
}
