/**
 * PAG annotation: one progress block per step of a ground-truth trajectory (one call per step,
 * then a closing reply step per turn). The block holds the summary (earlier turns, the completed
 * steps of this turn with their key results, and the facts later calls need) and the plan (the
 * remaining calls of the current request; arguments that depend on results not yet seen are `?`).
 * @module
 */
import { type CallExpr, parseCall, type ParsedCallExpr, renderCall } from "@parlmt/bfcl";
import {
  type Atom,
  callArgs,
  exprLeaves,
  knownAt,
  type Trace,
  type TraceInput,
  traceTrajectory,
} from "./trace.ts";
import { REPLY_DONE, REPLY_NO_CALL } from "./templates.ts";

/** A progress block (the proto's ProgressBlock, plain). */
export interface Progress {
  readonly summary: readonly string[];
  readonly plan: readonly string[];
  /** `<progress>…</progress>` as the assistant writes it. */
  readonly text: string;
}

/** One annotated step. */
export interface AnnotatedStep {
  readonly turn: number;
  readonly step: number;
  /** Global index of the step's call in the trace (or of the next call, for a reply step). */
  readonly k: number;
  readonly progress: Progress;
  /** The step's calls (one, or none for the reply step). */
  readonly calls: readonly string[];
  /** The step's results. */
  readonly results: readonly string[];
  /** The reply that ends the turn (reply steps only). */
  readonly reply: string;
  /** The assistant text to learn: block then `[calls]` or the reply. */
  readonly target: string;
}

/** An annotated trajectory. */
export interface Annotation {
  readonly steps: readonly AnnotatedStep[];
  readonly trace: Trace;
}

/** A needed fact: a result atom that a later call uses and the user never said. */
export interface Fact {
  readonly src: number;
  readonly name: string;
  readonly atom: Atom;
  /** Last call index that uses it. */
  readonly lastUse: number;
}

/** Facts that later calls take from earlier results. */
export function neededFacts(trace: Trace, user: readonly (readonly string[])[]): Fact[] {
  const facts = new Map<string, Fact>();
  for (const c of trace.calls) {
    const parsed = parseCall(c.call);
    for (const v of callArgs(parsed).flatMap(exprLeaves)) {
      if (knownAt({ ...trace, calls: [] }, user, c.turn, 0, v)) continue; // said by the user
      for (let i = c.index - 1; i >= 0; i--) {
        const atom = trace.calls[i]!.atoms.find((a) => a.value === v);
        if (!atom) continue;
        const key = `${i}|${atom.key}|${atom.value}`;
        const prev = facts.get(key);
        facts.set(key, {
          src: i,
          name: trace.calls[i]!.name,
          atom,
          lastUse: Math.max(prev?.lastUse ?? -1, c.index),
        });
        break;
      }
    }
  }
  return [...facts.values()].sort((a, b) => a.src - b.src);
}

/** Whether `value`, unknown before `k`, is produced by a call in [k, j). */
function dependsOnPending(
  trace: Trace,
  user: readonly (readonly string[])[],
  turn: number,
  k: number,
  j: number,
  value: string,
): boolean {
  if (knownAt(trace, user, turn, k, value)) return false;
  return trace.calls.slice(k, j).some((c) => c.atoms.some((a) => a.value === value));
}

/** The plan entry of call `j` seen from before call `k`: pending-dependent arguments are `?`. */
export function planEntry(
  trace: Trace,
  user: readonly (readonly string[])[],
  turn: number,
  k: number,
  j: number,
): string {
  const parsed = parseCall(trace.calls[j]!.call);
  const mask = (e: CallExpr): CallExpr =>
    exprLeaves(e).some((v) => dependsOnPending(trace, user, turn, k, j, v))
      ? { kind: "name", id: "?" }
      : e;
  const masked: ParsedCallExpr = {
    ...parsed,
    args: parsed.args.map(mask),
    kwargs: parsed.kwargs.map(([n, e]) => [n, mask(e)] as const),
  };
  return renderCall(masked);
}

function claims(atoms: readonly Atom[]): string {
  const short = atoms.filter((a) => a.value.length <= 30 && !/[\n,=]/.test(a.value)).slice(0, 2);
  return short.length === 0 ? "ok" : short.map((a) => `${a.key}=${a.value}`).join(", ");
}

/** Renders a block's text from its lines. */
export function renderProgress(summary: readonly string[], plan: readonly string[]): string {
  const lines = [...summary, `plan: ${plan.length > 0 ? plan.join("; ") : "none"}`];
  return `<progress>${lines.join("\n")}</progress>`;
}

/** The block before call `k` of `turn` (k = the turn's end for its reply step). */
export function progressAt(
  trace: Trace,
  user: readonly (readonly string[])[],
  facts: readonly Fact[],
  turn: number,
  k: number,
): Progress {
  const summary: string[] = [];
  for (let u = 0; u < turn; u++) {
    const names = trace.calls.slice(trace.turnStart[u]!, trace.turnStart[u + 1]!).map((c) =>
      c.name
    );
    if (names.length > 0) summary.push(`turn ${u + 1}: ${names.join(", ")}`);
  }
  for (const c of trace.calls.slice(trace.turnStart[turn]!, k)) {
    summary.push(`done: ${c.call} -> ${claims(c.atoms)}`);
  }
  const seen = new Set<string>();
  for (const f of facts) {
    if (f.src >= k || f.lastUse < k) continue;
    const line = `fact: ${f.name}.${f.atom.key}=${f.atom.value}`;
    if (!seen.has(line)) summary.push(line);
    seen.add(line);
  }
  const plan: string[] = [];
  for (let j = k; j < trace.turnStart[turn + 1]!; j++) {
    plan.push(planEntry(trace, user, turn, k, j));
  }
  return { summary, plan, text: renderProgress(summary, plan) };
}

/** Options of annotate(). */
export interface AnnotateOptions {
  /** The reply of each turn that has no calls (default: a generic request for more). */
  readonly noCallReply?: (turn: number) => string;
}

/** Annotates a ground-truth trajectory (synthetic or BFCL). */
export function annotate(input: TraceInput, opts: AnnotateOptions = {}): Annotation {
  const trace = traceTrajectory(input);
  const facts = neededFacts(trace, input.user);
  const steps: AnnotatedStep[] = [];
  input.calls.forEach((_, turn) => {
    const start = trace.turnStart[turn]!;
    const end = trace.turnStart[turn + 1]!;
    for (let k = start; k <= end; k++) {
      const progress = progressAt(trace, input.user, facts, turn, k);
      const isReply = k === end;
      const reply = !isReply
        ? ""
        : end > start
        ? REPLY_DONE
        : opts.noCallReply?.(turn) ?? REPLY_NO_CALL;
      const call = isReply ? undefined : trace.calls[k]!;
      steps.push({
        turn,
        step: k - start,
        k,
        progress,
        calls: call ? [call.call] : [],
        results: call ? [call.result] : [],
        reply,
        target: progress.text + (call ? `[${call.call}]` : reply),
      });
    }
  });
  return { steps, trace };
}
