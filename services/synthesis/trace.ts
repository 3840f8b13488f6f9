/**
 * An executed ground-truth trace: canonical calls, result strings, and the scalar "atoms" of each
 * result (the facts a summary may claim), plus which call arguments come from earlier results.
 * @module
 */
import { type CallExpr, Executor, parseCall, type ParsedCallExpr, renderCall } from "@parlmt/bfcl";
import { parsePyJson, PyDict, pyRepr, type PyValue } from "@parlmt/pycompat";

/** One scalar of a result: `{"user_id": "USR002"}` → key `user_id`, value `USR002`. */
export interface Atom {
  readonly key: string;
  readonly value: string;
}

/** One executed call. */
export interface TracedCall {
  readonly turn: number;
  /** Global index in the trace. */
  readonly index: number;
  /** The call as `renderCall` writes it. */
  readonly call: string;
  readonly name: string;
  readonly result: string;
  readonly atoms: readonly Atom[];
}

/** A ground-truth trajectory to trace or annotate. */
export interface TraceInput {
  readonly id: string;
  readonly classes: readonly string[];
  readonly initialConfig: PyDict;
  readonly longContext: boolean;
  /** User texts per turn. */
  readonly user: readonly (readonly string[])[];
  /** Ground-truth calls per turn. */
  readonly calls: readonly (readonly string[])[];
}

/** The executed trace with states. */
export interface Trace {
  readonly calls: readonly TracedCall[];
  /** Global index of the first call of each turn (and the end, at `turns.length`). */
  readonly turnStart: readonly number[];
  /** `stateJson()` at the end of each turn. */
  readonly turnEndState: readonly string[];
  /** Executor snapshots before each call index (and at the end). */
  readonly before: readonly Executor[];
}

function leafText(v: PyValue): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return pyRepr(v);
  return undefined;
}

function walk(v: PyValue, key: string, out: Atom[]): void {
  if (v instanceof PyDict) {
    for (const [k, x] of v) walk(x, String(k), out);
  } else if (Array.isArray(v)) {
    for (const x of v) walk(x, key, out);
  } else {
    const t = leafText(v);
    if (t === undefined || t.length === 0 || t.length > 80) return;
    out.push({ key, value: t });
    if (typeof v === "string" && v.includes("/") && !/\s/.test(v)) {
      for (const seg of v.split("/")) {
        if (seg && seg !== "." && seg !== "..") out.push({ key, value: seg });
      }
    }
  }
}

/** The atoms of a result string (JSON, or Python repr of dicts, read loosely). */
export function resultAtoms(result: string): Atom[] {
  const out: Atom[] = [];
  try {
    walk(parsePyJson(result), "result", out);
    return out;
  } catch (_) {
    // Not JSON (e.g. a Python repr list of dicts): read 'key': value pairs
  }
  for (const m of result.matchAll(/'(\w+)': (?:'([^']*)'|(-?\d[\d.e+-]*))/g)) {
    const value = m[2] ?? m[3]!;
    if (value.length > 0 && value.length <= 80) out.push({ key: m[1]!, value });
  }
  return out;
}

/** Literal leaves of an argument expression (strings raw, numbers as Python repr). */
export function exprLeaves(e: CallExpr): string[] {
  switch (e.kind) {
    case "literal": {
      const t = leafText(e.value);
      return t === undefined || t.length === 0 ? [] : [t];
    }
    case "list":
    case "tuple":
    case "set":
      return e.items.flatMap(exprLeaves);
    case "dict":
      return e.entries.flatMap(([, v]) => exprLeaves(v));
    case "neg":
      return exprLeaves(e.operand).map((t) => "-" + t);
    default:
      return [];
  }
}

/** The argument expressions of a call, positional then keyword. */
export function callArgs(c: ParsedCallExpr): CallExpr[] {
  return [...c.args, ...c.kwargs.map(([, v]) => v)];
}

/** Canonical text of a call string. */
export function canonicalCall(call: string): string {
  return renderCall(parseCall(call));
}

/** Whether `value` occurs in user text (strings as substrings, numbers as whole words). */
export function inText(value: string, texts: readonly string[]): boolean {
  if (/^-?\d/.test(value)) {
    const re = new RegExp(`(^|[^\\d.])${value.replace(/[.+-]/g, "\\$&")}($|[^\\d])`);
    const alt = value.endsWith(".0") ? value.slice(0, -2) : undefined;
    return texts.some((t) =>
      re.test(t) || (alt !== undefined && new RegExp(`\\b${alt}\\b`).test(t))
    );
  }
  return texts.some((t) => t.includes(value));
}

/** Executes the ground truth turn by turn and records everything annotation needs. */
export function traceTrajectory(input: TraceInput): Trace {
  const ex = new Executor(input.classes, input.initialConfig, input.longContext);
  const calls: TracedCall[] = [];
  const turnStart: number[] = [];
  const turnEndState: string[] = [];
  const before: Executor[] = [];
  input.calls.forEach((turnCalls, turn) => {
    turnStart.push(calls.length);
    for (const raw of turnCalls) {
      const parsed = parseCall(raw);
      before.push(ex.clone());
      const result = ex.executeParsed(parsed);
      calls.push({
        turn,
        index: calls.length,
        call: renderCall(parsed),
        name: parsed.name,
        result,
        atoms: resultAtoms(result),
      });
    }
    turnEndState.push(ex.stateJson());
  });
  turnStart.push(calls.length);
  before.push(ex.clone());
  return { calls, turnStart, turnEndState, before };
}

/** Whether `value` is known before call `k` of `turn`: said by the user or returned earlier. */
export function knownAt(
  trace: Trace,
  user: readonly (readonly string[])[],
  turn: number,
  k: number,
  value: string,
): boolean {
  if (inText(value, user.slice(0, turn + 1).flat())) return true;
  return trace.calls.slice(0, k).some((c) => c.atoms.some((a) => a.value === value));
}
