/**
 * AdamW inside the graph, after global-norm gradient clipping. Weights and moments come in as
 * values and the updated ones are returned as values, so one session.run performs a full step.
 */
import { add, div, max, min, mul, pow, scalar, sqrt, sub, sumAll, type Value } from "@parlmt/onnx";

/** AdamW hyperparameters (PyTorch defaults, nanoGPT's β2 and decay). */
export interface AdamWOptions {
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.95 */
  beta2?: number;
  /** @default 1e-8 */
  eps?: number;
  /** Decoupled weight decay, applied only where `decay[i]` is true. @default 0.1 */
  weightDecay?: number;
  /** Clip the global gradient norm to this; 0 disables clipping. @default 1 */
  maxGradNorm?: number;
}

/** Graph values of one AdamW step. */
export interface AdamWStep {
  readonly params: readonly Value[];
  readonly m: readonly Value[];
  readonly v: readonly Value[];
  /** Global L2 norm of the gradients before clipping, shape `[]`. */
  readonly gradNorm: Value;
}

/**
 * Emits one AdamW update. `lr` and `step` (1-based, float) are scalar `[]` values; `decay[i]`
 * says whether `params[i]` gets weight decay (matrices yes, biases and norms no).
 */
export function adamW(
  params: readonly Value[],
  grads: readonly Value[],
  state: { readonly m: readonly Value[]; readonly v: readonly Value[] },
  lr: Value,
  step: Value,
  decay: readonly boolean[],
  opts: AdamWOptions = {},
): AdamWStep {
  const { beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.1, maxGradNorm = 1 } = opts;
  if (!(beta1 >= 0 && beta1 < 1)) throw new RangeError(`Cannot use AdamW beta1 ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) throw new RangeError(`Cannot use AdamW beta2 ${beta2}`);
  if (!(maxGradNorm >= 0)) throw new RangeError(`Cannot use AdamW maxGradNorm ${maxGradNorm}`);
  const g = lr.graph;
  return g.scope("adamw", () => {
    // norm = √Σ g², scale = min(1, maxNorm / (norm + 1e-6))
    const sq = grads.map((gr) => sumAll(mul(gr, gr)));
    const gradNorm = sqrt(sq.reduce((a, b) => add(a, b)));
    const scale = maxGradNorm > 0
      ? min(div(scalar(lr, maxGradNorm), max(gradNorm, 1e-6)), 1)
      : null;
    // stepSize = lr / (1 - β1^t), denomScale = 1 / √(1 - β2^t)
    const bc1 = sub(scalar(lr, 1), pow(scalar(lr, beta1), step));
    const bc2 = sub(scalar(lr, 1), pow(scalar(lr, beta2), step));
    const stepSize = div(lr, bc1);
    const invSqrtBc2 = div(scalar(lr, 1), sqrt(bc2));
    const keep = sub(scalar(lr, 1), mul(lr, weightDecay));
    const out = { params: [] as Value[], m: [] as Value[], v: [] as Value[] };
    params.forEach((p, i) => {
      const gi = scale ? mul(grads[i]!, scale) : grads[i]!;
      const m = add(mul(state.m[i]!, beta1), mul(gi, 1 - beta1)); // m = β1·m + (1-β1)·g
      const v = add(mul(state.v[i]!, beta2), mul(mul(gi, gi), 1 - beta2)); // v = β2·v + (1-β2)·g²
      const denom = add(mul(sqrt(v), invSqrtBc2), eps); // √(v/bc2) + ε
      const base = decay[i] && weightDecay > 0 ? mul(p, keep) : p; // p·(1 - lr·wd)
      out.params.push(sub(base, mul(div(m, denom), stepSize)));
      out.m.push(m);
      out.v.push(v);
    });
    return { ...out, gradNorm };
  });
}
