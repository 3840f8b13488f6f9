/**
 * The decoder forward pass on graph values (GPT-2 block: pre-LayerNorm, fused QKV, learned
 * positions, untied LM head). Training, inference and logprob graphs all call this.
 */
import { attention as attentionCore, selfFloorOffset, selfScoreFloor } from "@parlmt/autodiff";
import {
  add,
  concat,
  type Dim,
  gather,
  gelu,
  ints,
  layerNorm,
  matMul,
  relu,
  reshape,
  reshapeTo,
  shapeOf,
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
  /**
   * The bias of each query's own key, `[B, 1, T, 1]` (-1e9 where that token is masked, e.g.
   * padding); omitted when every query attends itself (training). See selfScoreFloor().
   */
  readonly attnSelfBias?: Value;
  /** Per-layer cache of earlier positions; omitted in training (no past). */
  readonly past?: readonly LayerCache[];
  /**
   * Query blocks of the attention when `attnBias` is a constant `[T, T]` mask (training): each
   * block only multiplies the keys it may attend, skipping the causal upper triangle. @default 1
   */
  readonly attnQueryBlocks?: number;
  /**
   * No gradient will be taken (inference, logprobs): Q, K and V then come from three GEMMs on
   * the thirds of c_attn, with no split of the `[B·T, 3C]` activation. Training keeps the one
   * GEMM, whose input gradient is then one GEMM too (not three accumulated ones).
   */
  readonly inference?: boolean;
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
  const [B, T] = inp.inputIds.shape as [Dim, Dim];
  // [B, T, ...rest] from a [B·T, ...] value (a runtime shape when B or T is symbolic)
  let bt: Value | undefined; // runtime [B, T]
  const shapes = new Map<string, Value>(); // runtime shapes [B, T, ...rest], one per rest
  const unflatten = (v: Value, rest: readonly number[]): Value => {
    if (typeof B === "number" && typeof T === "number") return reshape(v, [B, T, ...rest]);
    const key = rest.join(",");
    let shape = shapes.get(key);
    if (!shape) {
      bt ??= shapeOf(inp.inputIds);
      shapes.set(key, shape = concat([bt, ints(v, rest)], 0));
    }
    return reshapeTo(v, shape, [B, T, ...rest]);
  };
  const floorOffset = inp.attnSelfBias ? selfFloorOffset(inp.attnSelfBias) : undefined;
  // The residual stream is 2-D, [B·T, C]: every projection is then a plain GEMM, which ORT fuses
  // with its bias (a 3-D MatMul with a symbolic batch keeps a separate Add pass).
  // x = wte[ids] + wpe[pos]  [B·T, C]
  let x = reshape(
    add(
      gather(p("transformer.wte.weight"), inp.inputIds),
      gather(p("transformer.wpe.weight"), inp.positionIds),
    ),
    [-1, c.nEmbd],
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
        floorOffset,
        inp.past?.[l],
        inp.attnQueryBlocks ?? 1,
        unflatten,
        x.shape[0]!,
        inp.inference ?? false,
      );
    });
    x = add(x, y);
    presents.push(cache);
    x = g.scope(`h${l}/mlp`, () => {
      const [h] = layerNorm(x, p(pre + "ln_2.weight"), p(pre + "ln_2.bias"), {
        epsilon: c.layerNormEps,
      });
      const a = add(matMul(h, p(pre + "mlp.c_fc.weight")), p(pre + "mlp.c_fc.bias")); // [B·T, F]
      const act = c.activation === "gelu" ? gelu(a) : c.activation === "relu" ? relu(a) : silu(a);
      return add(x, add(matMul(act, p(pre + "mlp.c_proj.weight")), p(pre + "mlp.c_proj.bias")));
    });
  }
  const [xf] = layerNorm(x, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"), {
    epsilon: c.layerNormEps,
  });
  // [B, T, C]·Wᵀ: a reshape after the product would copy the logits when they are an output
  const logits = matMul(unflatten(xf, [c.nEmbd]), transpose(p("lm_head.weight"))); // [B, T, V]
  return { logits, presents };
}

function attention(
  c: ModelConfig,
  h: Value, // [B·T, C]
  wQkv: Value,
  bQkv: Value,
  wProj: Value,
  bProj: Value,
  bias: Value,
  floorOffset: Value | undefined,
  past: LayerCache | undefined,
  queryBlocks: number,
  unflatten: (v: Value, rest: readonly number[]) => Value,
  rows: Dim, // B·T
  inference: boolean,
): { y: Value; cache: LayerCache } {
  const H = c.nHead;
  const D = c.nEmbd / H;
  // [B·T, C] → [B, H, T, D]
  const heads = (t: Value) => transpose(unflatten(t, [H, D]), [0, 2, 1, 3]);
  const thirds = [c.nEmbd, c.nEmbd, c.nEmbd];
  let qkv: Value[];
  if (inference) {
    // Splitting the weight [C, 3C] is cheaper than splitting the activation [B·T, 3C].
    const ws = split(wQkv, thirds, { axis: 1 });
    const bs = split(bQkv, thirds, { axis: 0 });
    qkv = ws.map((wi, i) => add(matMul(h, wi), bs[i]!));
  } else qkv = split(add(matMul(h, wQkv), bQkv), thirds, { axis: 1 });
  const qh = heads(qkv[0]!);
  const kNew = heads(qkv[1]!);
  let vh = heads(qkv[2]!);
  let kh = kNew;
  if (past) {
    kh = concat([past.key, kh], 2); // [B, H, P+T, D]
    vh = concat([past.value, vh], 2);
  }
  // softmax(q·kᵀ/√D + bias)·v  [B, H, T, D], with a fused backward; masked scores are floored
  // 60 below each query's own score (no subnormal floats in the softmax)
  const scale = 1 / Math.sqrt(D);
  const floor = selfScoreFloor(qh, kNew, scale, floorOffset);
  const att = attentionCore(qh, kh, vh, bias, { scale, queryBlocks, floor });
  const o = transpose(att, [0, 2, 1, 3]); // [B, T, H, D]
  const o2 = reshapeTo(o, ints(o, [-1, c.nEmbd]), [rows, c.nEmbd]); // [B·T, C]
  const y = add(matMul(o2, wProj), bProj); // [B·T, C]
  return { y, cache: { key: kh, value: vh } };
}
