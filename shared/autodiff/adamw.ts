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
    const sq = grads.map((gr) => mul(gr, gr)); // g², reused by the second moment
    const gradNorm = sqrt(sq.map(sumAll).reduce((a, b) => add(a, b)));
    const scale = maxGradNorm > 0
      ? min(div(scalar(lr, maxGradNorm), max(gradNorm, 1e-6)), 1)
      : null;
    // The clip scale s is folded into scalar coefficients: (1-β1)·s and (1-β2)·s².
    const c1 = scale ? mul(scale, 1 - beta1) : scalar(lr, 1 - beta1);
    const c2 = scale ? mul(mul(scale, scale), 1 - beta2) : scalar(lr, 1 - beta2);
    // m̂/(√v̂ + ε) = m/(√v + ε·√bc2) · √bc2/bc1, with bc1 = 1 - β1^t, bc2 = 1 - β2^t
    const bc1 = sub(scalar(lr, 1), pow(scalar(lr, beta1), step));
    const sqrtBc2 = sqrt(sub(scalar(lr, 1), pow(scalar(lr, beta2), step)));
    const stepSize = div(mul(lr, sqrtBc2), bc1);
    const epsHat = mul(sqrtBc2, eps);
    const keep = sub(scalar(lr, 1), mul(lr, weightDecay));
    const out = { params: [] as Value[], m: [] as Value[], v: [] as Value[] };
    params.forEach((p, i) => {
      const m = add(mul(state.m[i]!, beta1), mul(grads[i]!, c1)); // m = β1·m + (1-β1)·s·g
      const v = add(mul(state.v[i]!, beta2), mul(sq[i]!, c2)); // v = β2·v + (1-β2)·(s·g)²
      const denom = add(sqrt(v), epsHat);
      const base = decay[i] && weightDecay > 0 ? mul(p, keep) : p; // p·(1 - lr·wd)
      out.params.push(sub(base, mul(div(m, denom), stepSize)));
      out.m.push(m);
      out.v.push(v);
    });
    return { ...out, gradNorm };
  });
}
