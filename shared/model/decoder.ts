/**
 * The decoder forward pass on graph values (GPT-2 block: pre-LayerNorm, fused QKV, learned
 * positions and optionally rotary ones, untied LM head). Training, inference and logprob graphs
 * all call this.
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
import { rotary } from "./rotary.ts";

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
  /**
   * Rows of the flattened `[B·T]` positions to compute logits for, `[N]` int64 (e.g. only the
   * tokens a loss reads): the LM head and everything after it then run on N rows, not B·T.
   */
  readonly outputRows?: Value;
}

/** Outputs of decoderForward(). */
export interface ForwardOutputs {
  /** `[B, T, V]`, or `[N, V]` with `outputRows` */
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
    // A static length (decode steps: T = 1) needs no runtime shape: B is the inferred dim.
    if (typeof T === "number") return reshapeTo(v, ints(v, [-1, T, ...rest]), [B, T, ...rest]);
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
      return attention(c, h, {
        wQkv: p(pre + "attn.c_attn.weight"),
        bQkv: p(pre + "attn.c_attn.bias"),
        wProj: p(pre + "attn.c_proj.weight"),
        bProj: p(pre + "attn.c_proj.bias"),
        bias: inp.attnBias,
        floorOffset,
        past: inp.past?.[l],
        positionIds: c.rotary ? inp.positionIds : undefined,
        queryBlocks: inp.attnQueryBlocks ?? 1,
        unflatten,
        batch: B,
        oneToken: T === 1,
        rows: x.shape[0]!,
        inference: inp.inference ?? false,
      });
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
  const wOut = transpose(p("lm_head.weight"));
  if (inp.outputRows) return { logits: matMul(gather(xf, inp.outputRows), wOut), presents };
  // [B, T, C]·Wᵀ: a reshape after the product would copy the logits when they are an output
  const logits = matMul(unflatten(xf, [c.nEmbd]), wOut); // [B, T, V]
  return { logits, presents };
}

/** What attention() needs besides the model config and its input. */
interface AttentionParts {
  readonly wQkv: Value;
  readonly bQkv: Value;
  readonly wProj: Value;
  readonly bProj: Value;
  readonly bias: Value;
  readonly floorOffset: Value | undefined;
  readonly past: LayerCache | undefined;
  /** Positions of the new tokens when queries and keys are rotated (config `rotary`). */
  readonly positionIds: Value | undefined;
  readonly queryBlocks: number;
  readonly unflatten: (v: Value, rest: readonly number[]) => Value;
  /** B */
  readonly batch: Dim;
  /** T is statically 1 (a decode step): heads are then a split, no transpose. */
  readonly oneToken: boolean;
  /** B·T */
  readonly rows: Dim;
  readonly inference: boolean;
}

function attention(
  c: ModelConfig,
  h: Value, // [B·T, C]
  a: AttentionParts,
): { y: Value; cache: LayerCache } {
  const H = c.nHead;
  const D = c.nEmbd / H;
  // [B·T, C] → [B, H, T, D]
  const heads = (t: Value) => transpose(a.unflatten(t, [H, D]), [0, 2, 1, 3]);
  const thirds = [c.nEmbd, c.nEmbd, c.nEmbd];
  let qkv: Value[];
  if (a.inference && !a.oneToken) {
    // Splitting the weight [C, 3C] is cheaper than splitting the activation [B·T, 3C]; for
    // one token per row the activation is small and one GEMM beats three.
    const ws = split(a.wQkv, thirds, { axis: 1 });
    const bs = split(a.bQkv, thirds, { axis: 0 });
    qkv = ws.map((wi, i) => add(matMul(h, wi), bs[i]!));
  } else if (a.oneToken) {
    // [B, 3C] is the memory of [B, 3H, 1, D] (T = 1): the split makes the heads, no transposes
    const fused = add(matMul(h, a.wQkv), a.bQkv);
    const byHead = reshapeTo(fused, ints(fused, [-1, 3 * H, 1, D]), [a.batch, 3 * H, 1, D]);
    qkv = split(byHead, [H, H, H], { axis: 1 });
  } else qkv = split(add(matMul(h, a.wQkv), a.bQkv), thirds, { axis: 1 });
  let [qh, kNew] = a.oneToken ? qkv : [heads(qkv[0]!), heads(qkv[1]!)];
  if (a.positionIds) {
    qh = rotary(c, qh!, a.positionIds);
    kNew = rotary(c, kNew!, a.positionIds);
  }
  let vh = a.oneToken ? qkv[2]! : heads(qkv[2]!);
  let kh = kNew!;
  if (a.past) {
    kh = concat([a.past.key, kh], 2); // [B, H, P+T, D]
    vh = concat([a.past.value, vh], 2);
  }
  // softmax(q·kᵀ/√D + bias)·v  [B, H, T, D], with a fused backward; masked scores are floored
  // 60 below each query's own score (no subnormal floats in the softmax) unless T = 1, where
  // only padding is masked
  const scale = 1 / Math.sqrt(D);
  const floor = a.oneToken ? undefined : selfScoreFloor(qh!, kNew!, scale, a.floorOffset);
  const att = attentionCore(qh!, kh, vh, a.bias, { scale, queryBlocks: a.queryBlocks, floor });
  const o2 = a.oneToken
    ? reshapeTo(att, ints(att, [-1, c.nEmbd]), [a.rows, c.nEmbd]) // [B, H, 1, D] → [B, C]
    : reshapeTo(transpose(att, [0, 2, 1, 3]), ints(att, [-1, c.nEmbd]), [a.rows, c.nEmbd]);
  const y = add(matMul(o2, a.wProj), a.bProj); // [B·T, C]
  return { y, cache: { key: kh, value: vh } };
}
