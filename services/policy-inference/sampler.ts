/**
 * Token sampling from one row of logits: greedy, temperature, top-k, top-p, an optional mask of
 * allowed tokens (constrained decoding), and a seeded PRNG per request. The logprob returned is
 * always that of the unmodified model distribution (temperature 1, no filters, no mask): the
 * value a full-sequence forward of the same tokens gives, which is what the learner recomputes.
 */
import { Prng } from "@parlmt/model";

/** Resolved sampling parameters of one request. */
export interface SamplingOptions {
  /** 0 = greedy. @default 0 */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]. @default 1 */
  readonly topP: number;
  /** 0 = no top-k filter. @default 0 */
  readonly topK: number;
}

/** One sampled token. */
export interface Sampled {
  readonly token: number;
  /** log p(token) under the model (float64 log-softmax of the raw logits). */
  readonly logprob: number;
}

/** A PRNG for a request's 64-bit seed. */
export function seededRng(seed: bigint): Prng {
  const lo = Number(seed & 0xffffffffn);
  const hi = Number((seed >> 32n) & 0xffffffffn);
  return new Prng((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0);
}

/**
 * Samples from `logits[off .. off+V]`; `allowed` (when given) marks the tokens that may be
 * chosen; `logZ` is the row's log-sum-exp when the graph computed it (else computed here, in
 * float64). Throws a `RangeError` when `allowed` rules out every token.
 */
export function sampleToken(
  logits: Float32Array,
  off: number,
  V: number,
  opts: SamplingOptions,
  rng: Prng,
  allowed?: Uint8Array,
  logZ?: number,
): Sampled {
  const row = logits.subarray(off, off + V);
  let max = -Infinity;
  let argmax = 0;
  for (let v = 0; v < V; v++) {
    const x = row[v]!;
    if (x > max) {
      max = x;
      argmax = v;
    }
  }
  if (logZ === undefined) {
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v]! - max);
    logZ = max + Math.log(sum);
  }
  const z = logZ;
  const lp = (t: number) => row[t]! - z;

  const ok = (v: number) => !allowed || allowed[v] === 1;
  if (!(opts.temperature > 0)) {
    if (!allowed) return { token: argmax, logprob: lp(argmax) };
    let best = -1;
    for (let v = 0; v < V; v++) {
      if (allowed[v] === 1 && (best < 0 || row[v]! > row[best]!)) best = v;
    }
    if (best < 0) throw new RangeError("Cannot sample: no token is allowed");
    return { token: best, logprob: lp(best) };
  }
  // Candidates with their tempered logits.
  const ids: number[] = [];
  for (let v = 0; v < V; v++) if (ok(v)) ids.push(v);
  if (ids.length === 0) throw new RangeError("Cannot sample: no token is allowed");
  const t = opts.temperature;
  const filtered = opts.topK > 0 || opts.topP < 1;
  if (filtered) ids.sort((a, b) => logits[off + b]! - logits[off + a]! || a - b);
  let n = opts.topK > 0 ? Math.min(opts.topK, ids.length) : ids.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, logits[off + ids[i]!]! / t);
  const w = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i] = Math.exp(logits[off + ids[i]!]! / t - m);
  if (opts.topP < 1) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += w[i]! / total;
      if (acc >= opts.topP) {
        n = i + 1;
        break;
      }
    }
    total = 0;
    for (let i = 0; i < n; i++) total += w[i]!;
  }
  let u = rng.uniform() * total;
  for (let i = 0; i < n; i++) {
    u -= w[i]!;
    if (u < 0) return { token: ids[i]!, logprob: lp(ids[i]!) };
  }
  return { token: ids[n - 1]!, logprob: lp(ids[n - 1]!) };
}
