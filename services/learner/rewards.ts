/**
 * The composite PAG-RL reward (DESIGN.md §3). Every term is computed and logged on its own,
 * then weighted:
 *
 * - `success`     1 when the benchmark checker passed the episode, else 0.
 * - `turn_checks` fraction of turns whose state and response checks passed.
 * - `call_f1`     mean over turns of the F1 between the executed calls and the ground truth
 *                 (multisets of canonical call strings; a turn with neither scores 1).
 * - `format`      fraction of steps that followed the turn format.
 * - `redundancy`  fraction of calls that repeat an identical earlier call of the same turn, or
 *                 failed and were not in the ground truth (a penalty: its weight is negative).
 * - `alignment`   awareness-action alignment (progress-aware arms only): over the executed
 *                 calls and the summary's claims together, the fraction that hold. A call holds
 *                 when the preceding progress block's plan announced it; a `done: call -> k=v`
 *                 line when that call ran earlier and its output has those values (`ok`: no
 *                 values claimed); a `fact: fn.k=v` line when a call of `fn` ran and output k=v.
 */
import type { Trajectory } from "@parlmt/gen/parlmt/v1/common_pb.ts";

/** The reward terms by name. */
export type RewardTerm =
  | "success"
  | "turn_checks"
  | "call_f1"
  | "format"
  | "redundancy"
  | "alignment";

/** Weight of each term in the total. */
export type RewardWeights = Readonly<Record<RewardTerm, number>>;

/** Defaults: success dominates; shaping terms are smaller; redundancy is a penalty. */
export const DEFAULT_REWARD_WEIGHTS: RewardWeights = Object.freeze({
  success: 1,
  turn_checks: 0.5,
  call_f1: 0.5,
  format: 0.2,
  redundancy: -0.2,
  alignment: 0.2,
});

/** Turns a call as written into a canonical string (e.g. through the BFCL parser). */
export type Canonicalize = (call: string) => string;

/** The terms and their weighted total. */
export interface RewardBreakdown {
  total: number;
  terms: Record<RewardTerm, number>;
}

function f1(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length === 0 && truth.length === 0) return 1;
  if (predicted.length === 0 || truth.length === 0) return 0;
  const remaining = new Map<string, number>();
  for (const t of truth) remaining.set(t, (remaining.get(t) ?? 0) + 1);
  let hits = 0;
  for (const p of predicted) {
    const left = remaining.get(p) ?? 0;
    if (left > 0) {
      hits++;
      remaining.set(p, left - 1);
    }
  }
  if (hits === 0) return 0;
  const precision = hits / predicted.length;
  const recall = hits / truth.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The value of `key` in a call's output when it is a JSON object, as the block renders it. */
function outputValue(output: string, key: string): string | undefined {
  try {
    const v = (JSON.parse(output) as Record<string, unknown>)?.[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === "string" ? v : JSON.stringify(v);
  } catch {
    return undefined;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Whether `output` says `key` is `claimed`: by value in a JSON object, else as a `'key': value`
 * entry anywhere in the text (Python reprs, nested lists of records).
 */
function outputHas(output: string, key: string, claimed: string): boolean {
  if (sameValue(outputValue(output, key), claimed)) return true;
  const entry = new RegExp(
    `(["'])${escapeRe(key)}\\1:\\s*(["']?)${escapeRe(claimed)}\\2(?=[,}\\]\\s]|$)`,
  );
  return entry.test(output);
}

/** Whether an output value and a claimed one agree (numbers by value: `700.0` is `700`). */
function sameValue(actual: string | undefined, claimed: string): boolean {
  if (actual === undefined) return false;
  if (actual === claimed) return true;
  const a = Number(actual), c = Number(claimed);
  return actual !== "" && claimed !== "" && Number.isFinite(a) && Number.isFinite(c) && a === c;
}

/** Whether every `k=v` claim of `claims` (`ok` claims nothing) is in `output`. */
function claimsHold(claims: string, output: string): boolean {
  if (claims.trim() === "ok") return true;
  return claims.split(", ").every((kv) => {
    const i = kv.indexOf("=");
    return i > 0 && outputHas(output, kv.slice(0, i).trim(), kv.slice(i + 1).trim());
  });
}

/** An executed call: its canonical form, function name and output. */
interface Ran {
  readonly canonical: string;
  readonly name: string;
  readonly output: string;
}

/** Whether a summary line of a progress block is consistent with the calls that ran before it. */
function summaryLineHolds(
  line: string,
  ran: readonly Ran[],
  canonicalize: Canonicalize,
): boolean | undefined {
  if (line.startsWith("done: ")) {
    const body = line.slice("done: ".length);
    const arrow = body.lastIndexOf(" -> ");
    if (arrow < 0) return false;
    const call = safeCanonical(canonicalize, body.slice(0, arrow));
    const claims = body.slice(arrow + " -> ".length);
    return ran.some((r) => r.canonical === call && claimsHold(claims, r.output));
  }
  if (line.startsWith("fact: ")) {
    const m = /^fact: ([\w.]+)\.(\w+)=(.*)$/.exec(line);
    if (!m) return false;
    const [, name, key, value] = m as unknown as [string, string, string, string];
    return ran.some((r) => r.name === name && outputHas(r.output, key, value.trim()));
  }
  return undefined; // other lines (e.g. `turn 1: ...`) claim nothing checkable
}

function safeCanonical(canonicalize: Canonicalize, call: string): string {
  try {
    return canonicalize(call);
  } catch {
    // A call that does not parse cannot match anything; keep its raw text.
    return `\u0000unparsable:${call}`;
  }
}

/**
 * Scores one trajectory against the task's ground truth (`groundTruth[t]` = calls of turn t).
 * Terms that have nothing to measure (no steps, no calls) count as 1 (or 0 for the penalty).
 */
export function computeReward(
  trajectory: Trajectory,
  groundTruth: readonly (readonly string[])[],
  canonicalize: Canonicalize,
  weights: RewardWeights = DEFAULT_REWARD_WEIGHTS,
): RewardBreakdown {
  const turns = trajectory.turns;
  const success = trajectory.check?.success ? 1 : 0;
  const checks = trajectory.check?.turns ?? [];
  const turnChecks = checks.length === 0
    ? success
    : checks.filter((t) => t.stateOk && t.responseOk).length / checks.length;

  let f1Sum = 0;
  let steps = 0, wellFormed = 0;
  let calls = 0, redundant = 0;
  let aligned = 0, alignedHits = 0;
  const ran: Ran[] = [];
  const turnCount = Math.max(turns.length, groundTruth.length);
  for (let t = 0; t < turnCount; t++) {
    const turn = turns[t];
    const truth = (groundTruth[t] ?? []).map((c) => safeCanonical(canonicalize, c));
    const truthSet = new Set(truth);
    const executed: string[] = [];
    const seen = new Set<string>();
    for (const step of turn?.steps ?? []) {
      steps++;
      if (!step.formatError) wellFormed++;
      const plan = new Set((step.progress?.plan ?? []).map((c) => safeCanonical(canonicalize, c)));
      for (const line of step.progress?.summary ?? []) {
        const holds = summaryLineHolds(line, ran, canonicalize);
        if (holds === undefined) continue;
        aligned++;
        if (holds) alignedHits++;
      }
      step.calls.forEach((call, i) => {
        const c = safeCanonical(canonicalize, call.source || call.name);
        calls++;
        const result = step.results[i];
        const failed = result?.isError ?? false;
        // What ran, for the claims of later progress blocks.
        if (result && !failed) ran.push({ canonical: c, name: call.name, output: result.output });
        if (seen.has(c) || (failed && !truthSet.has(c))) redundant++;
        seen.add(c);
        executed.push(c);
        if (step.progress) {
          aligned++;
          if (plan.has(c)) alignedHits++;
        }
      });
    }
    f1Sum += f1(executed, truth);
  }
  const terms: Record<RewardTerm, number> = {
    success,
    turn_checks: turnChecks,
    call_f1: turnCount === 0 ? 1 : f1Sum / turnCount,
    format: steps === 0 ? 1 : wellFormed / steps,
    redundancy: calls === 0 ? 0 : redundant / calls,
    alignment: aligned === 0 ? 0 : alignedHits / aligned,
  };
  let total = 0;
  for (const [name, value] of Object.entries(terms) as [RewardTerm, number][]) {
    total += weights[name] * value;
  }
  return { total, terms };
}
