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
 * - `alignment`   fraction of executed calls that the preceding progress block's plan
 *                 announced (progress-aware arms only).
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
  let planned = 0, plannedHits = 0;
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
      step.calls.forEach((call, i) => {
        const c = safeCanonical(canonicalize, call.source || call.name);
        calls++;
        const failed = step.results[i]?.isError ?? false;
        if (seen.has(c) || (failed && !truthSet.has(c))) redundant++;
        seen.add(c);
        executed.push(c);
        if (step.progress) {
          planned++;
          if (plan.has(c)) plannedHits++;
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
    alignment: planned === 0 ? 0 : plannedHits / planned,
  };
  let total = 0;
  for (const [name, value] of Object.entries(terms) as [RewardTerm, number][]) {
    total += weights[name] * value;
  }
  return { total, terms };
}
