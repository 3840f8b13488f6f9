/** Losses on graph values: per-token logprobs, masked cross-entropy and the PPO-style policy loss. */
import { logSoftmaxGather } from "@parlmt/autodiff";
import {
  add,
  and,
  cast,
  clip,
  div,
  exp,
  greater,
  less,
  max,
  min,
  mul,
  neg,
  or,
  reduceSum,
  sub,
  sumAll,
  type Value,
} from "@parlmt/onnx";

/**
 * log p(target) per token `[B, T]` and the log-softmax `[B, T, V]`, with the fused
 * softmax-minus-one-hot backward.
 */
export function tokenLogprobs(logits: Value, targets: Value): { logp: Value; logSoftmax: Value } {
  const { logp, lsm } = logSoftmaxGather(logits, targets);
  return { logp, logSoftmax: lsm };
}

/** Entropy of the predicted distribution per token `[B, T]` from a log-softmax `[B, T, V]`. */
export function tokenEntropy(logSoftmax: Value): Value {
  return neg(reduceSum(mul(exp(logSoftmax), logSoftmax), [-1], { keepdims: false }));
}

/** Σ x·mask / max(Σ mask, 1), a scalar `[]`. */
export function maskedMean(x: Value, mask: Value): Value {
  return div(sumAll(mul(x, mask)), max(sumAll(mask), 1));
}

/** Mean negative log-likelihood of `targets` `[B, T]` over tokens where `mask` `[B, T]` is 1. */
export function maskedCrossEntropy(logits: Value, targets: Value, mask: Value): Value {
  return maskedMean(neg(tokenLogprobs(logits, targets).logp), mask);
}

/** Hyperparameters of the policy loss. */
export interface PolicyLossOptions {
  /** Lower clip: ratios below 1 - clipLow are clipped. @default 0.2 */
  clipLow?: number;
  /** Upper clip: ratios above 1 + clipHigh are clipped. @default 0.2 */
  clipHigh?: number;
  /** Cap of the truncated importance weight π_prox/π_behaviour. @default 2 */
  tisCap?: number;
  /** Coefficient of the k3 KL to the reference policy. @default 0 */
  klCoef?: number;
  /** Coefficient of the entropy bonus. @default 0 */
  entropyCoef?: number;
}

/** Per-token inputs of the policy loss, all `[B, T]` float. */
export interface PolicyLossInputs {
  /** 1 on policy-generated tokens, 0 elsewhere (prompt, tool output, padding). */
  readonly mask: Value;
  readonly advantages: Value;
  /** log π_behaviour: what the sampling policy reported when it generated the token. */
  readonly behaviourLogprobs: Value;
  /** log π_prox: the policy the ratio is taken against (= behaviour when on-policy). */
  readonly proximalLogprobs: Value;
  /** log π_ref of the reference (SFT) policy, for the KL penalty. */
  readonly referenceLogprobs: Value;
}

/** Scalars returned by policyLoss(), each `[]`. */
export interface PolicyLossValues {
  readonly loss: Value;
  readonly clipFrac: Value;
  readonly kl: Value;
  readonly entropy: Value;
}

/**
 * PPO-style clipped policy loss with truncated importance weights and k3 KL:
 * r = π/π_prox, w = min(π_prox/π_behaviour, cap), L = -w·min(r·A, clip(r)·A) + β·k3 - c·H,
 * averaged over masked tokens.
 */
export function policyLoss(
  logits: Value,
  targets: Value,
  inp: PolicyLossInputs,
  opts: PolicyLossOptions = {},
): PolicyLossValues {
  const { clipLow = 0.2, clipHigh = 0.2, tisCap = 2, klCoef = 0, entropyCoef = 0 } = opts;
  for (const [k, v] of Object.entries({ clipLow, clipHigh, tisCap, klCoef, entropyCoef })) {
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new RangeError(`Cannot use policy loss option ${k} ${v}: must be finite and ≥ 0`);
    }
  }
  const { logp, logSoftmax } = tokenLogprobs(logits, targets);
  const A = inp.advantages;
  const ratio = exp(sub(logp, inp.proximalLogprobs)); // [B, T]
  const surrogate = min(mul(ratio, A), mul(clip(ratio, 1 - clipLow, 1 + clipHigh), A));
  const tis = min(exp(sub(inp.proximalLogprobs, inp.behaviourLogprobs)), tisCap); // no gradient
  let perToken = neg(mul(tis, surrogate));
  const d = sub(inp.referenceLogprobs, logp);
  const k3 = sub(sub(exp(d), d), 1); // k3 = e^(ref-logp) - (ref-logp) - 1 ≥ 0
  if (klCoef > 0) perToken = add(perToken, mul(k3, klCoef));
  const ent = tokenEntropy(logSoftmax);
  if (entropyCoef > 0) perToken = sub(perToken, mul(ent, entropyCoef));
  const clipped = or(
    and(greater(A, 0), greater(ratio, 1 + clipHigh)),
    and(less(A, 0), less(ratio, 1 - clipLow)),
  );
  return {
    loss: maskedMean(perToken, inp.mask),
    clipFrac: maskedMean(cast(clipped, A.dtype), inp.mask),
    kl: maskedMean(k3, inp.mask),
    entropy: maskedMean(ent, inp.mask),
  };
}
