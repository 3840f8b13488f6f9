/**
 * The PAG verifier: a block passes when its plan, executed from the current state, reproduces the
 * ground-truth calls and the end-of-turn state; every summary claim is in the executed results;
 * and the values the next call needs are in the block (or said by the user).
 * @module
 */
import { type CallExpr, EXECUTION_ERROR_PREFIX, parseCall, renderCall } from "@parlmt/bfcl";
import { parseProgress } from "@parlmt/tokenizer";
import type { AnnotatedStep, Annotation } from "./annotate.ts";
import { callArgs, exprLeaves, inText, knownAt, type Trace } from "./trace.ts";

/** The verdict for one block. */
export interface BlockVerdict {
  readonly ok: boolean;
  readonly reasons: readonly string[];
}

function exprText(e: CallExpr): string {
  return renderCall({ name: "_", args: [e], kwargs: [] } as never);
}

/** Whether a call's result is an error (an execution error or an `{"error": …}` answer). */
export function callFailed(result: string): boolean {
  return result.startsWith(EXECUTION_ERROR_PREFIX) || /^\{\s*"error"\s*:/.test(result);
}

/** What verifyStep needs besides the block. */
export interface VerifyContext {
  readonly trace: Trace;
  readonly user: readonly (readonly string[])[];
}

/** Verifies the block text of `step` against the executed ground truth. */
export function verifyStep(ctx: VerifyContext, step: AnnotatedStep, text: string): BlockVerdict {
  const { trace, user } = ctx;
  const reasons: string[] = [];
  const parsed = parseProgress(text);
  if (!parsed) return { ok: false, reasons: ["block is not <progress>…plan: …</progress>"] };
  const { turn, k } = step;
  const end = trace.turnStart[turn + 1]!;
  const gt = trace.calls.slice(k, end);
  // Plan: the remaining ground-truth calls, `?` only where a pending call supplies the value.
  if (parsed.plan.length !== gt.length) {
    reasons.push(`plan has ${parsed.plan.length} calls, the request needs ${gt.length}`);
  }
  parsed.plan.forEach((entry, i) => {
    const want = gt[i];
    if (!want) return;
    let got;
    try {
      got = parseCall(entry.replace(/(=\s*|\(\s*|,\s*)\?(?=\s*[,)])/g, "$1__unknown__"));
    } catch (err) {
      reasons.push(`plan entry ${i + 1} does not parse: ${(err as Error).message}`);
      return;
    }
    const ref = parseCall(want.call);
    if (got.name !== ref.name) {
      reasons.push(`plan entry ${i + 1} calls ${got.name}, the ground truth calls ${ref.name}`);
      return;
    }
    const ga = callArgs(got);
    const ra = callArgs(ref);
    const names = [...got.args.map(() => ""), ...got.kwargs.map(([n]) => n)];
    const refNames = [...ref.args.map(() => ""), ...ref.kwargs.map(([n]) => n)];
    if (names.join(",") !== refNames.join(",")) {
      reasons.push(`plan entry ${i + 1} has arguments (${names}), expected (${refNames})`);
      return;
    }
    ga.forEach((a, x) => {
      const r = ra[x]!;
      if (a.kind === "name" && a.id === "__unknown__") {
        if (i === 0 && step.calls.length > 0) {
          reasons.push(`plan entry 1 (the next call) leaves an argument unresolved`);
        } else if (exprLeaves(r).every((v) => knownAt(trace, user, turn, k, v))) {
          reasons.push(`plan entry ${i + 1} leaves the known value ${exprText(r)} unresolved`);
        }
      } else if (exprText(a) !== exprText(r)) {
        reasons.push(
          `plan entry ${i + 1} has ${exprText(a)} where the ground truth has ${exprText(r)}`,
        );
      }
    });
  });
  // Executing the plan (unknowns bound from the executed results) reproduces the end state.
  if (reasons.length === 0) {
    const ex = trace.before[k]!.clone();
    for (const c of gt) ex.executeParsed(parseCall(c.call));
    if (ex.stateJson() !== trace.turnEndState[turn]) {
      reasons.push("executing the plan does not reproduce the end-of-turn state");
    }
  }
  // Summary claims are in the executed results.
  reasons.push(...summaryReasons(trace, turn, k, parsed.summary));
  // Sufficiency: what the next call needs from earlier results is in the block.
  const next = trace.calls[k];
  if (next && k < end) {
    for (const v of callArgs(parseCall(next.call)).flatMap(exprLeaves)) {
      const fromResults = trace.calls.slice(0, k).some((c) => c.atoms.some((a) => a.value === v));
      if (!fromResults || inText(v, user.slice(0, turn + 1).flat())) continue;
      if (!text.includes(v)) reasons.push(`summary lacks the value ${v} the next call needs`);
    }
  }
  return { ok: reasons.length === 0, reasons };
}

/** Reasons why summary lines written before call `k` of `turn` claim what was not executed. */
export function summaryReasons(
  trace: Trace,
  turn: number,
  k: number,
  summary: readonly string[],
): string[] {
  const reasons: string[] = [];
  const turnCalls = trace.calls.slice(trace.turnStart[turn]!, k);
  let done = 0;
  for (const line of summary) {
    let m;
    if ((m = /^turn (\d+): (.*)$/.exec(line))) {
      const u = Number(m[1]) - 1;
      const names = trace.calls.slice(trace.turnStart[u] ?? 0, trace.turnStart[u + 1] ?? 0)
        .map((c) => c.name).join(", ");
      if (!(u >= 0 && u < turn) || names !== m[2]) reasons.push(`false claim: "${line}"`);
    } else if ((m = /^done: (.*) -> (.*)$/.exec(line))) {
      const c = turnCalls[done++];
      if (!c || c.call !== m[1]) {
        reasons.push(`false claim: "${line}" is not the next completed step`);
        continue;
      }
      if (m[2] === "ok") continue;
      if (m[2] === "failed") {
        if (!callFailed(c.result)) reasons.push(`false claim: ${c.name} did not fail`);
        continue;
      }
      for (const claim of m[2]!.split(", ")) {
        const eq = claim.indexOf("=");
        const key = claim.slice(0, eq);
        const value = claim.slice(eq + 1);
        if (!c.atoms.some((a) => a.key === key && a.value === value)) {
          reasons.push(`false claim: ${c.name} did not return ${claim}`);
        }
      }
    } else if ((m = /^fact: (\w+)\.(\w+)=(.*)$/.exec(line))) {
      const [, name, key, value] = m;
      const found = trace.calls.slice(0, k).some((c) =>
        c.name === name && c.atoms.some((a) => a.key === key && a.value === value)
      );
      if (!found) reasons.push(`false claim: no executed ${name} returned ${key}=${value}`);
    } else {
      reasons.push(`unreadable summary line: "${line}"`);
    }
  }
  if (done < turnCalls.length) {
    reasons.push(`summary omits ${turnCalls.length - done} completed step(s) of this turn`);
  }
  return reasons;
}

/** Verifies every block of an annotation. */
export function verifyAnnotation(
  annotation: Annotation,
  user: readonly (readonly string[])[],
): BlockVerdict[] {
  const ctx = { trace: annotation.trace, user };
  return annotation.steps.map((s) => verifyStep(ctx, s, s.progress.text));
}
