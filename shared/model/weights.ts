/**
 * The decoder's parameters: names (Hugging Face GPT-2 layout: `transformer.h.0.attn.c_attn.weight`
 * is [C, 3C] used as x·W), shapes, initialisation and which get weight decay.
 */
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import type { ModelConfig } from "./config.ts";
import { Prng } from "./prng.ts";

/** Parameter tensors by name (float32). */
export type Weights = Map<string, HostTensor>;

/** One parameter: name, shape and init. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** "normal" (std given), "zeros" or "ones". */
  readonly init: "normal" | "zeros" | "ones";
  readonly std: number;
  /** Whether AdamW applies weight decay (matrices and embeddings). */
  readonly decay: boolean;
}

/** All parameters of the decoder, in a fixed order. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const { nEmbd: C, nFf: F, vocabSize: V, blockSize: T, initStd: std } = c;
  const projStd = std / Math.sqrt(2 * c.nLayer);
  const mat = (name: string, shape: number[], s = std): ParamSpec => ({
    name,
    shape,
    init: "normal",
    std: s,
    decay: true,
  });
  const vec = (name: string, n: number, init: "zeros" | "ones"): ParamSpec => ({
    name,
    shape: [n],
    init,
    std: 0,
    decay: false,
  });
  const specs = [mat("transformer.wte.weight", [V, C]), mat("transformer.wpe.weight", [T, C])];
  for (let l = 0; l < c.nLayer; l++) {
    const p = `transformer.h.${l}.`;
    specs.push(
      vec(p + "ln_1.weight", C, "ones"),
      vec(p + "ln_1.bias", C, "zeros"),
      mat(p + "attn.c_attn.weight", [C, 3 * C]),
      vec(p + "attn.c_attn.bias", 3 * C, "zeros"),
      mat(p + "attn.c_proj.weight", [C, C], projStd),
      vec(p + "attn.c_proj.bias", C, "zeros"),
      vec(p + "ln_2.weight", C, "ones"),
      vec(p + "ln_2.bias", C, "zeros"),
      mat(p + "mlp.c_fc.weight", [C, F]),
      vec(p + "mlp.c_fc.bias", F, "zeros"),
      mat(p + "mlp.c_proj.weight", [F, C], projStd),
      vec(p + "mlp.c_proj.bias", C, "zeros"),
    );
  }
  specs.push(
    vec("transformer.ln_f.weight", C, "ones"),
    vec("transformer.ln_f.bias", C, "zeros"),
    mat("lm_head.weight", [V, C]),
  );
  return specs;
}

/** Fresh weights from a seeded PRNG (GPT-2 init: N(0, 0.02), residual projections scaled). */
export function initWeights(c: ModelConfig, seed: number): Weights {
  const rng = new Prng(seed);
  const w: Weights = new Map();
  for (const s of paramSpecs(c)) {
    const t = hostTensor("float32", s.shape);
    const d = t.data as Float32Array;
    if (s.init === "ones") d.fill(1);
    else if (s.init === "normal") {
      for (let i = 0; i < d.length; i++) d[i] = rng.normal() * s.std;
    }
    w.set(s.name, t);
  }
  return w;
}

/** Zero tensors shaped like each weight (fresh AdamW moments). */
export function zerosLikeWeights(w: Weights): Weights {
  return new Map([...w].map(([k, t]) => [k, hostTensor(t.dtype, t.dims)]));
}

/** Throws a `RangeError` unless `w` holds exactly the config's parameters with their shapes. */
export function checkWeights(c: ModelConfig, w: Weights): void {
  for (const s of paramSpecs(c)) {
    const t = w.get(s.name);
    if (!t) throw new RangeError(`Cannot use weights: missing "${s.name}"`);
    if (t.dims.length !== s.shape.length || t.dims.some((d, i) => d !== s.shape[i])) {
      throw new RangeError(
        `Cannot use weights: "${s.name}" has dims [${t.dims}], expected [${s.shape}]`,
      );
    }
  }
}
