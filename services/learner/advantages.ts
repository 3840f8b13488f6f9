/**
 * Group-relative advantage estimators (one group = G rollouts of the same task).
 *
 * - `grpo`: (r_i − mean) / (std + eps), std with Bessel's correction (as TRL's GRPO).
 * - `dr_grpo`: r_i − mean (Dr. GRPO drops the std normalisation, and the loss drops length
 *   normalisation).
 * - `rloo`: r_i − mean of the other G−1 rewards (leave-one-out baseline).
 * Turn-level: a per-turn group baseline, r_{i,t} − mean over the group's rollouts that reached
 * turn t, added to the trajectory advantage with a weight.
 */

/** The estimators. */
export type AdvantageEstimator = "grpo" | "dr_grpo" | "rloo";

/** The names accepted by config. */
export const ADVANTAGE_ESTIMATORS: readonly AdvantageEstimator[] = ["grpo", "dr_grpo", "rloo"];

/** Options of {@linkcode groupAdvantages}. */
export interface AdvantageOptions {
  /** Added to the std in `grpo`. @default {1e-6} */
  eps?: number;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** True when every reward of the group is equal (no learning signal). */
export function isZeroVariance(rewards: readonly number[], tolerance = 1e-12): boolean {
  return rewards.every((r) => Math.abs(r - rewards[0]!) <= tolerance);
}

/** The advantage of each rollout of one group. */
export function groupAdvantages(
  rewards: readonly number[],
  estimator: AdvantageEstimator,
  options: AdvantageOptions = {},
): number[] {
  const { eps = 1e-6 } = options;
  if (rewards.length === 0) throw new RangeError("Cannot compute advantages of an empty group");
  for (const r of rewards) {
    if (!Number.isFinite(r)) {
      throw new RangeError(`Cannot compute advantages: reward ${r} is not finite`);
    }
  }
  const m = mean(rewards);
  switch (estimator) {
    case "grpo": {
      const std = sampleStd(rewards);
      return rewards.map((r) => (r - m) / (std + eps));
    }
    case "dr_grpo":
      return rewards.map((r) => r - m);
    case "rloo": {
      const n = rewards.length;
      if (n < 2) return [0];
      const sum = m * n;
      return rewards.map((r) => r - (sum - r) / (n - 1));
    }
    default:
      throw new RangeError(`Unknown advantage estimator "${estimator}"`);
  }
}

/**
 * Per-turn advantages: `turnRewards[i][t]` is rollout i's reward for turn t (rollouts may end
 * early). Each turn's baseline is the mean over the rollouts that reached that turn; the result
 * is `trajectoryAdvantage[i] + weight * (r_{i,t} − baseline_t)`.
 */
export function turnLevelAdvantages(
  turnRewards: readonly (readonly number[])[],
  trajectoryAdvantage: readonly number[],
  weight = 1,
): number[][] {
  if (turnRewards.length !== trajectoryAdvantage.length) {
    throw new RangeError(
      `Cannot compute turn advantages: ${turnRewards.length} rollouts but ${trajectoryAdvantage.length} advantages`,
    );
  }
  const turns = Math.max(0, ...turnRewards.map((r) => r.length));
  const baseline: number[] = [];
  for (let t = 0; t < turns; t++) {
    const reached = turnRewards.filter((r) => r.length > t).map((r) => r[t]!);
    baseline.push(mean(reached));
  }
  return turnRewards.map((rs, i) =>
    rs.map((r, t) => trajectoryAdvantage[i]! + weight * (r - baseline[t]!))
  );
}
