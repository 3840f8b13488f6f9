/**
 * pass^k as τ-bench defines it (`tau_bench/run.py::display_metrics`): with n trials per task
 * and c successes for a task, pass^k = mean over tasks of C(c, k) / C(n, k), for k = 1..n.
 * A trial succeeds when its reward is within 1e-6 of 1.
 * @module
 */

/** One finished trial. */
export interface TrialResult {
  /** The task (any stable id). */
  readonly taskId: string | number;
  /** The trial number; n is the number of distinct trial numbers over all results. */
  readonly trial: number;
  /** The reward. */
  readonly reward: number;
}

/** The metrics `display_metrics` prints. */
export interface PassHatKResult {
  /** Mean reward over all (task, trial) results. */
  readonly averageReward: number;
  /** `passHatK[k - 1]` is pass^k, for k = 1..n. */
  readonly passHatK: readonly number[];
}

/** Python's `math.comb(n, k)` (exact). */
export function comb(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= Math.min(k, n - k); i++) r = (r * BigInt(n - i + 1)) / BigInt(i);
  return r;
}

function isSuccessful(reward: number): boolean {
  return 1 - 1e-6 <= reward && reward <= 1 + 1e-6;
}

/** Average reward and pass^k for k = 1..n, exactly as the reference computes them. */
export function passHatK(results: readonly TrialResult[]): PassHatKResult {
  if (results.length === 0) throw new RangeError("Cannot compute pass^k: no results");
  const numTrials = new Set(results.map((r) => r.trial)).size;
  let rewardSum = 0;
  for (const r of results) rewardSum += r.reward;
  const successes = new Map<string | number, number>();
  for (const r of results) {
    successes.set(r.taskId, (successes.get(r.taskId) ?? 0) + (isSuccessful(r.reward) ? 1 : 0));
  }
  const out: number[] = [];
  for (let k = 1; k <= numTrials; k++) {
    let sum = 0;
    for (const c of successes.values()) sum += Number(comb(c, k)) / Number(comb(numTrials, k));
    out.push(sum / successes.size);
  }
  return { averageReward: rewardSum / results.length, passHatK: out };
}
