/**
 * PAG annotation of an executed trajectory (a rollout, or a replayed ground truth): one block per
 * step. The summary covers what was actually executed, with claims taken only from the results the
 * environment returned when the calls are replayed from the initial state (a failed call is
 * `-> failed`, never a fact); the plan is what remains of the turn's ground truth (the ground-truth
 * calls not executed yet, `?` where a pending call supplies the value). A trajectory that executed
 * exactly the ground truth gets the same blocks as the ground truth's own annotation.
 * @module
 */
import { parseCall, renderCall } from "@parlmt/bfcl";
import type { PyDict } from "@parlmt/pycompat";
import {
  type AnnotatedStep,
  type Annotation,
  neededFacts,
  planEntry,
  progressAt,
  renderProgress,
} from "./annotate.ts";
import { REPLY_DONE } from "./templates.ts";
import { type Trace, traceTrajectory } from "./trace.ts";
import { type BlockVerdict, callFailed, summaryReasons } from "./verify.ts";
import { parseProgress } from "@parlmt/tokenizer";

/** One executed call and the output recorded for it (empty when not recorded). */
export interface ExecutedCall {
  readonly call: string;
  readonly output: string;
}

/** A trajectory to annotate. */
export interface TrajectoryInput {
  readonly id: string;
  readonly classes: readonly string[];
  readonly initialConfig: PyDict;
  readonly longContext: boolean;
  /** User texts per turn. */
  readonly user: readonly (readonly string[])[];
  /** The calls executed per turn, in order. */
  readonly executed: readonly (readonly ExecutedCall[])[];
  /** The task's ground-truth calls per turn (at least as many turns as `executed`). */
  readonly groundTruth: readonly (readonly string[])[];
}

/** An annotated trajectory: blocks over the executed trace, plans from the ground truth. */
export interface TrajectoryAnnotation extends Annotation {
  /** The ground truth, executed. */
  readonly gtTrace: Trace;
  /** Per step: the ground-truth calls still to do (canonical), the plan's source. */
  readonly remaining: readonly (readonly string[])[];
  /** Per step: the next ground-truth call if its arguments are all known, else null. */
  readonly expected: readonly (string | null)[];
  /** Replay mismatches: recorded outputs that differ from the replayed result. */
  readonly mismatches: readonly string[];
}

function summaryLines(trace: Trace, summary: readonly string[], turn: number, k: number) {
  // The executed calls of this turn before k: a failed call is "failed", not "ok".
  const start = trace.turnStart[turn]!;
  return summary.map((line) => {
    const m = /^done: (.*) -> (.*)$/.exec(line);
    if (!m) return line;
    const c = trace.calls.slice(start, k).find((x) => x.call === m[1]);
    return c && callFailed(c.result) ? `done: ${c.call} -> failed` : line;
  });
}

/** Annotates an executed trajectory against its task's ground truth. */
export function annotateTrajectory(input: TrajectoryInput): TrajectoryAnnotation {
  const turns = input.executed.length;
  if (input.groundTruth.length < turns) {
    throw new RangeError(
      `the trajectory has ${turns} turns, the ground truth ${input.groundTruth.length}`,
    );
  }
  const base = {
    id: input.id,
    classes: input.classes,
    initialConfig: input.initialConfig,
    longContext: input.longContext,
    user: input.user.slice(0, turns),
  };
  const trace = traceTrajectory({
    ...base,
    calls: input.executed.map((t) => t.map((c) => c.call)),
  });
  const gtTrace = traceTrajectory({ ...base, calls: input.groundTruth.slice(0, turns) });
  const facts = neededFacts(trace, base.user);
  const mismatches: string[] = [];
  for (const c of trace.calls) {
    const recorded = input.executed[c.turn]![c.index - trace.turnStart[c.turn]!]!.output;
    if (recorded && recorded !== c.result) {
      mismatches.push(`turn ${c.turn + 1}: the recorded output of ${c.call} differs from replay`);
    }
  }
  const steps: AnnotatedStep[] = [];
  const remaining: string[][] = [];
  const expected: (string | null)[] = [];
  for (let turn = 0; turn < turns; turn++) {
    const start = trace.turnStart[turn]!;
    const end = trace.turnStart[turn + 1]!;
    const gtStart = gtTrace.turnStart[turn]!;
    const gtEnd = gtTrace.turnStart[turn + 1]!;
    for (let k = start; k <= end; k++) {
      // Ground-truth calls not yet executed in this turn (each executed call matches one).
      const left = new Set<number>();
      for (let j = gtStart; j < gtEnd; j++) left.add(j);
      for (const c of trace.calls.slice(start, k)) {
        for (const j of left) {
          if (gtTrace.calls[j]!.call === c.call) {
            left.delete(j);
            break;
          }
        }
      }
      const todo = [...left];
      const kg = todo[0] ?? gtEnd;
      const plan = todo.map((j) => planEntry(gtTrace, base.user, turn, kg, j));
      const summary = summaryLines(
        trace,
        progressAt(trace, base.user, facts, turn, k).summary,
        turn,
        k,
      );
      const text = renderProgress(summary, plan);
      const call = k < end ? trace.calls[k]! : undefined;
      const reply = call ? "" : REPLY_DONE;
      steps.push({
        turn,
        step: k - start,
        k,
        progress: { summary, plan, text },
        calls: call ? [call.call] : [],
        results: call ? [call.result] : [],
        reply,
        target: text + (call ? `[${call.call}]` : reply),
      });
      remaining.push(todo.map((j) => gtTrace.calls[j]!.call));
      expected.push(todo.length === 0 ? null : plan[0]!.includes("?") ? null : plan[0]!);
    }
  }
  return { steps, trace, gtTrace, remaining, expected, mismatches };
}

/**
 * Verifies one trajectory block: every summary claim is in the replayed results (a failed call
 * is never `ok`), and the plan lists the remaining ground-truth calls in order.
 */
export function verifyTrajectoryStep(
  ann: TrajectoryAnnotation,
  index: number,
  text: string,
): BlockVerdict {
  const step = ann.steps[index]!;
  const parsed = parseProgress(text);
  if (!parsed) return { ok: false, reasons: ["block is not <progress>…plan: …</progress>"] };
  const reasons = summaryReasons(ann.trace, step.turn, step.k, parsed.summary);
  for (const line of parsed.summary) {
    const m = /^done: (.*) -> ok$/.exec(line);
    const c = m && ann.trace.calls.find((x) => x.turn === step.turn && x.call === m[1]);
    if (c && callFailed(c.result)) reasons.push(`false claim: "${line}" but ${c.name} failed`);
  }
  const want = ann.remaining[index]!;
  if (parsed.plan.length !== want.length) {
    reasons.push(`plan has ${parsed.plan.length} calls, ${want.length} ground-truth calls remain`);
  }
  parsed.plan.forEach((entry, i) => {
    const w = want[i];
    if (!w) return;
    try {
      const got = parseCall(entry.replace(/(=\s*|\(\s*|,\s*)\?(?=\s*[,)])/g, "$1__unknown__"));
      const ref = parseCall(w);
      if (got.name !== ref.name) {
        reasons.push(`plan entry ${i + 1} calls ${got.name}, the ground truth calls ${ref.name}`);
      } else if (!entry.includes("?") && renderCall(got) !== w) {
        reasons.push(`plan entry ${i + 1} is ${entry}, the ground truth is ${w}`);
      }
    } catch (err) {
      reasons.push(`plan entry ${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
  const call = step.calls[0];
  if (call) {
    for (const mm of ann.mismatches) if (mm.includes(` ${call} `)) reasons.push(mm);
  }
  return { ok: reasons.length === 0, reasons };
}

/** Verifies every block of a trajectory annotation. */
export function verifyTrajectoryAnnotation(ann: TrajectoryAnnotation): BlockVerdict[] {
  return ann.steps.map((s, i) => verifyTrajectoryStep(ann, i, s.progress.text));
}
