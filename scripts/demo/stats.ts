/**
 * Statistics of paired held-out comparisons: the mean and a percentile-bootstrap confidence
 * interval of the difference of two paired samples (both models scored on the same tasks).
 */
import { Prng } from "@parlmt/model";

/** The mean of `xs` (0 for none). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The `q` quantile (0..1) of sorted `xs`, by linear interpolation. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** A difference with its interval. */
export interface PairedDifference {
  /** mean(b) - mean(a). */
  readonly difference: number;
  readonly low: number;
  readonly high: number;
  readonly level: number;
}

/**
 * mean(b - a) with a percentile-bootstrap interval over the pairs (`resamples` draws of n pairs
 * with replacement, seeded, so a report is reproducible).
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: { resamples?: number; level?: number; seed?: number } = {},
): PairedDifference {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot pair ${a.length} scores with ${b.length}`);
  }
  const { resamples = 10_000, level = 0.95, seed = 1 } = options;
  const d = a.map((x, i) => b[i]! - x);
  const n = d.length;
  if (n === 0) return { difference: NaN, low: NaN, high: NaN, level };
  const rng = new Prng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)]!;
    means[r] = s / n;
  }
  const sorted = [...means].sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  return {
    difference: mean(d),
    low: quantile(sorted, tail),
    high: quantile(sorted, 1 - tail),
    level,
  };
}

/** A proportion's percent with one decimal, e.g. `41.5%`. */
export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** A signed difference in percentage points, e.g. `+3.2`. */
export function pp(x: number): string {
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;
}

/** A signed difference of a score, e.g. `+0.032`. */
export function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
}
