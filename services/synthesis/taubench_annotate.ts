/**
 * PAG annotation of τ-bench gold trajectories. A task's gold actions are replayed one tool call
 * per step on a fresh database through the τ-bench library; every step (and the closing reply)
 * gets a progress block in the BFCL annotator's format (`done:` lines with the key results of the
 * completed steps, `fact:` lines with the earlier results later calls need, then `plan:` with the
 * remaining gold actions as `name({json kwargs})` calls, `?` where a pending call supplies the
 * value). The verifier executes each block's plan from the step's state and compares the database
 * hash with the gold replay's, and checks every summary claim against the executed tool outputs.
 * @module
 */
import { parsePyJson, PyDict, pyJsonDumps, pyRepr, type PyValue } from "@parlmt/pycompat";
import {
  calculateReward,
  type Domain,
  goldHash,
  hashableRepr,
  loadTasks,
  replayGold,
  RESPOND_ACTION_NAME,
  runToolAction,
  type Split,
  SPLITS,
  TauDb,
  type TauTask,
} from "../env-simulator/taubench/mod.ts";
import { pristineTables } from "../env-simulator/taubench/data.ts";
import type { AnnotatedStep, Progress } from "./annotate.ts";
import { renderProgress } from "./annotate.ts";
import { REPLY_DONE } from "./templates.ts";
import { inText } from "./trace.ts";
import { type BlockVerdict } from "./verify.ts";
import { parseProgress } from "@parlmt/tokenizer";

/** One scalar of a tool output; `depth` 0 is a scalar output, 1 a top-level field. */
export interface TauAtom {
  readonly key: string;
  readonly value: string;
  readonly depth: number;
}

/** One executed gold action. */
export interface TauTracedStep {
  readonly index: number;
  readonly name: string;
  readonly kwargs: PyDict;
  /** `name({json kwargs})`, as the env-simulator's GetTask writes ground-truth calls. */
  readonly call: string;
  /** The tool output (empty for `respond`). */
  readonly observation: string;
  readonly atoms: readonly TauAtom[];
  readonly respond: boolean;
  /** A terminate tool (`transfer_to_human_agents`): the episode ends here. */
  readonly terminal: boolean;
}

/** The gold replay of one task. */
export interface TauTrace {
  readonly id: string;
  readonly domain: Domain;
  readonly split: Split;
  readonly taskIndex: number;
  readonly task: TauTask;
  /** What the user says (the task instruction, as the env-simulator's GetTask gives it). */
  readonly user: readonly string[];
  readonly steps: readonly TauTracedStep[];
  /** `gt_data_hash`: the database hash of the gold replay (the library's `goldHash`). */
  readonly goldHash: string;
  /** The gold end state: the library's `replayGold` database (never mutate it). */
  readonly goldDb: TauDb;
  /** Whether this step-by-step replay ends in the gold end state (true for every vendored task). */
  readonly reachesGold: boolean;
}

/** An annotated τ-bench trajectory: one turn; one step per gold action, then a closing reply. */
export interface TauAnnotation {
  readonly trace: TauTrace;
  readonly steps: readonly AnnotatedStep[];
}

/** `taubench_<domain>_<split>_<index>`, the env-simulator's task id. */
export function tauTaskId(domain: Domain, split: Split, index: number): string {
  return `taubench_${domain}_${split}_${index}`;
}

const ID = /^taubench_(retail|airline)_(test|train|dev)_(\d+)$/;

/** Parses a τ-bench task id; undefined when `id` is not one. */
export function parseTauId(
  id: string,
): { domain: Domain; split: Split; index: number } | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  return { domain: m[1] as Domain, split: m[2] as Split, index: Number(m[3]) };
}

/** A gold action as a call: `name({json kwargs})`. */
export function tauCall(name: string, kwargs: PyDict): string {
  return `${name}(${pyJsonDumps(kwargs)})`;
}

function leafText(v: PyValue): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return pyRepr(v);
  return undefined;
}

/** Scalar leaves of a value (strings raw, numbers as Python repr). */
export function valueLeaves(v: PyValue): string[] {
  if (v instanceof PyDict) return [...v.values()].flatMap(valueLeaves);
  if (Array.isArray(v)) return v.flatMap(valueLeaves);
  const t = leafText(v);
  return t === undefined || t.length === 0 ? [] : [t];
}

function walk(v: PyValue, key: string, depth: number, out: TauAtom[]): void {
  if (v instanceof PyDict) {
    for (const [k, x] of v) walk(x, String(k), depth + 1, out);
  } else if (Array.isArray(v)) {
    for (const x of v) walk(x, key, depth + 1, out);
  } else {
    const t = leafText(v);
    if (t !== undefined && t.length > 0 && t.length <= 80 && !t.includes("\n")) {
      out.push({ key, value: t, depth });
    }
  }
}

/** The atoms of a tool output: JSON walked to its scalars, or a short plain output as `result`. */
export function tauAtoms(observation: string): TauAtom[] {
  const out: TauAtom[] = [];
  let parsed: PyValue | undefined;
  try {
    parsed = parsePyJson(observation);
  } catch (_) {
    parsed = undefined;
  }
  if (parsed !== undefined) walk(parsed, "result", 0, out);
  else if (observation.length > 0 && observation.length <= 80 && !observation.includes("\n")) {
    out.push({ key: "result", value: observation, depth: 0 });
  }
  return out;
}

/**
 * Whether two databases of one domain have equal contents: exactly `dbHash(a) === dbHash(b)`
 * without hashing both whole databases (records still shared are equal; the others are compared
 * by the repr the hash is taken of).
 */
export function sameDbState(a: TauDb, b: TauDb): boolean {
  const names = a.tableNames.sort();
  if (names.join("\n") !== b.tableNames.sort().join("\n")) return false;
  for (const name of names) {
    const ta = a.table(name);
    const tb = b.table(name);
    if (ta === tb) continue;
    if (ta.size !== tb.size) return false;
    for (const [key, ra] of ta) {
      if (!tb.has(key)) return false;
      const rb = tb.get(key)!;
      if (ra !== rb && hashableRepr(ra) !== hashableRepr(rb)) return false;
    }
  }
  return true;
}

function freshDb(domain: Domain): TauDb {
  return new TauDb(pristineTables(domain));
}

function execute(domain: Domain, db: TauDb, name: string, kwargs: PyDict): string {
  if (name === RESPOND_ACTION_NAME) return "";
  return runToolAction(domain, db, name, kwargs).observation ?? "None";
}

/** Replays the gold actions of a vendored task on a fresh database, one call per step. */
export function traceTauTask(domain: Domain, split: Split, index: number): TauTrace {
  const tasks = loadTasks(domain, split);
  const task = tasks[index];
  if (!Number.isInteger(index) || task === undefined) {
    throw new RangeError(
      `Invalid task index ${index}: ${domain}/${split} has tasks 0..${tasks.length - 1}`,
    );
  }
  const db = freshDb(domain);
  const gold = replayGold(domain, task);
  const steps: TauTracedStep[] = [];
  for (const [i, a] of task.actions.entries()) {
    const respond = a.name === RESPOND_ACTION_NAME;
    const outcome = respond ? undefined : runToolAction(domain, db, a.name, a.kwargs);
    const observation = respond ? "" : outcome!.observation ?? "None";
    steps.push({
      index: i,
      name: a.name,
      kwargs: a.kwargs,
      call: tauCall(a.name, a.kwargs),
      observation,
      atoms: respond ? [] : tauAtoms(observation),
      respond,
      terminal: outcome?.terminal ?? false,
    });
  }
  return {
    id: tauTaskId(domain, split, index),
    domain,
    split,
    taskIndex: index,
    task,
    user: [task.instruction],
    steps,
    goldHash: goldHash(domain, task),
    goldDb: gold,
    reachesGold: sameDbState(db, gold),
  };
}

/** Whether `value` is known before step `k`: said by the user or returned by an earlier step. */
export function tauKnownAt(trace: TauTrace, k: number, value: string): boolean {
  if (inText(value, trace.user)) return true;
  return trace.steps.slice(0, k).some((s) => s.atoms.some((a) => a.value === value));
}

/** A needed fact: an output atom a later call uses that the user never said. */
export interface TauFact {
  /** The step whose output holds it. */
  readonly src: number;
  readonly name: string;
  readonly atom: TauAtom;
}

const FACT_SAFE = (a: TauAtom) => /^[\w ]+$/.test(a.key) && !a.value.includes("\n");

/**
 * The facts the block before step `k` states: for each value a call at or after `k` uses that
 * the user never said, the latest output before `k` that holds it (in step order).
 */
export function tauFactsAt(trace: TauTrace, k: number): TauFact[] {
  const facts = new Map<string, TauFact>();
  for (const s of trace.steps.slice(k)) {
    for (const v of valueLeaves(s.kwargs)) {
      if (inText(v, trace.user)) continue;
      for (let i = k - 1; i >= 0; i--) {
        const src = trace.steps[i]!;
        const atom = src.atoms.find((a) => a.value === v && FACT_SAFE(a));
        if (!atom) continue;
        const key = `${src.name}|${atom.key}|${atom.value}`;
        if (!facts.has(key)) facts.set(key, { src: i, name: src.name, atom });
        break;
      }
    }
  }
  return [...facts.values()].sort((a, b) => a.src - b.src);
}

/**
 * Whether an output of a step before `before` holds `value`. A value a call uses that is in no
 * earlier output and not in the instruction is one the user supplies during the conversation (the
 * gold trajectory does not say when).
 */
export function inOutputsBefore(trace: TauTrace, before: number, value: string): boolean {
  return trace.steps.slice(0, before).some((s) => s.atoms.some((a) => a.value === value));
}

/** Whether `value`, unknown before `k`, is produced by a step in [k, j). */
function dependsOnPending(trace: TauTrace, k: number, j: number, value: string): boolean {
  if (tauKnownAt(trace, k, value)) return false;
  return trace.steps.slice(k, j).some((s) => s.atoms.some((a) => a.value === value));
}

/** The placeholder of an argument a pending call supplies. */
export const UNKNOWN = "?";

/** Renders `name({kwargs})` with the kwargs in `masked` written as `?`. */
export function renderMaskedCall(name: string, kwargs: PyDict, masked: ReadonlySet<string>) {
  const parts = [...kwargs.entries()].map(([key, v]) =>
    `${pyJsonDumps(key)}: ${masked.has(String(key)) ? UNKNOWN : pyJsonDumps(v)}`
  );
  return `${name}({${parts.join(", ")}})`;
}

/** The plan entry of step `j` seen from before step `k`. */
export function tauPlanEntry(trace: TauTrace, k: number, j: number): string {
  const s = trace.steps[j]!;
  const masked = new Set<string>();
  for (const [key, v] of s.kwargs) {
    if (valueLeaves(v).some((x) => dependsOnPending(trace, k, j, x))) masked.add(String(key));
  }
  return renderMaskedCall(s.name, s.kwargs, masked);
}

const KEY_RESULT = /(^|_)(id|status|amount|price|balance|total|refund|cabin|membership)s?$/;

/** The key results a `done:` line claims (ids, amounts, statuses), at most three. */
export function tauClaims(step: TauTracedStep): string {
  if (step.respond) return "ok";
  if (step.observation.startsWith("Error")) return "error";
  const ok = (a: TauAtom) => /^\w+$/.test(a.key) && !/[,=]/.test(a.value) && a.value.length <= 40;
  const scalar = step.atoms.filter((a) => a.depth === 0 && ok(a));
  const picked = scalar.length > 0
    ? scalar
    : step.atoms.filter((a) => a.depth === 1 && KEY_RESULT.test(a.key) && ok(a));
  const short = picked.slice(0, 3);
  return short.length === 0 ? "ok" : short.map((a) => `${a.key}=${a.value}`).join(", ");
}

/** The block before step `k` (k = the number of steps for the closing reply). */
export function tauProgressAt(trace: TauTrace, k: number): Progress {
  const summary: string[] = [];
  for (const s of trace.steps.slice(0, k)) summary.push(`done: ${s.call} -> ${tauClaims(s)}`);
  const seen = new Set<string>();
  for (const f of tauFactsAt(trace, k)) {
    const line = `fact: ${f.name}.${f.atom.key}=${f.atom.value}`;
    if (!seen.has(line)) summary.push(line);
    seen.add(line);
  }
  // Outputs the closing reply must state, when an executed output holds them.
  if (k === trace.steps.length) {
    for (const o of trace.task.outputs) {
      for (let i = k - 1; i >= 0; i--) {
        const a = trace.steps[i]!.atoms.find((x) => x.value === o && FACT_SAFE(x));
        if (!a) continue;
        const line = `fact: ${trace.steps[i]!.name}.${a.key}=${a.value}`;
        if (!seen.has(line)) summary.push(line);
        seen.add(line);
        break;
      }
    }
  }
  const plan: string[] = [];
  for (let j = k; j < trace.steps.length; j++) plan.push(tauPlanEntry(trace, k, j));
  return { summary, plan, text: renderProgress(summary, plan) };
}

/** The closing reply: `Done.` and the values the task says the agent must state. */
export function tauClosingReply(task: TauTask): string {
  return task.outputs.length === 0 ? REPLY_DONE : `${REPLY_DONE} ${task.outputs.join("; ")}`;
}

/** Annotates a traced task: a block before every gold action and before the closing reply. */
export function annotateTauTrace(trace: TauTrace): TauAnnotation {
  const steps: AnnotatedStep[] = [];
  const n = trace.steps.length;
  // A terminate tool ends the episode: no closing reply after it.
  const last = n > 0 && trace.steps[n - 1]!.terminal ? n - 1 : n;
  for (let k = 0; k <= last; k++) {
    const progress = tauProgressAt(trace, k);
    const s = k < n ? trace.steps[k]! : undefined;
    const reply = s === undefined
      ? tauClosingReply(trace.task)
      : s.respond
      ? String(s.kwargs.get("content") ?? "")
      : "";
    const call = s && !s.respond ? s : undefined;
    steps.push({
      turn: 0,
      step: k,
      k,
      progress,
      calls: call ? [call.call] : [],
      results: call ? [call.observation] : [],
      reply,
      target: progress.text + (call ? `[${call.call}]` : reply),
    });
  }
  return { trace, steps };
}

/** Annotates a vendored τ-bench task. */
export function annotateTau(domain: Domain, split: Split, index: number): TauAnnotation {
  return annotateTauTrace(traceTauTask(domain, split, index));
}

// ---------------------------------------------------------------------------------------------
// Verification

const SENTINEL = "__parlmt_unknown__";

/** Parses a plan entry `name({...})` (with `?` values); null when it does not parse. */
export function parseTauPlanEntry(
  entry: string,
): { name: string; kwargs: PyDict; unknown: Set<string> } | null {
  const m = /^([A-Za-z_]\w*)\(([\s\S]*)\)$/.exec(entry.trim());
  if (!m) return null;
  let value: PyValue;
  try {
    value = parsePyJson(m[2]!.replace(/(:\s*)\?(?=\s*[,}])/g, `$1"${SENTINEL}"`));
  } catch (_) {
    return null;
  }
  if (!(value instanceof PyDict)) return null;
  const unknown = new Set<string>();
  for (const [k, v] of value) if (v === SENTINEL) unknown.add(String(k));
  return { name: m[1]!, kwargs: value, unknown };
}

/** The database before step `k` (the gold actions before it replayed on a fresh database). */
export function tauStateAt(trace: TauTrace, k: number): TauDb {
  const db = freshDb(trace.domain);
  for (const s of trace.steps.slice(0, k)) execute(trace.domain, db, s.name, s.kwargs);
  return db;
}

/** Verifies the block `text` of `step` against the executed gold replay. */
export function verifyTauStep(trace: TauTrace, step: AnnotatedStep, text: string): BlockVerdict {
  const reasons: string[] = [];
  const parsed = parseProgress(text);
  if (!parsed) return { ok: false, reasons: ["block is not <progress>…plan: …</progress>"] };
  const k = step.k;
  const gold = trace.steps.slice(k);
  // Plan: the remaining gold actions; `?` only where a pending call supplies the value.
  if (parsed.plan.length !== gold.length) {
    reasons.push(`plan has ${parsed.plan.length} calls, the task needs ${gold.length}`);
  }
  const entries = parsed.plan.map(parseTauPlanEntry);
  entries.forEach((got, i) => {
    const want = gold[i];
    if (!got) {
      reasons.push(`plan entry ${i + 1} does not parse: ${parsed.plan[i]}`);
      return;
    }
    if (!want) return;
    if (got.name !== want.name) {
      reasons.push(`plan entry ${i + 1} calls ${got.name}, the gold action calls ${want.name}`);
      return;
    }
    const gk = [...got.kwargs.keys()].map(String);
    const wk = [...want.kwargs.keys()].map(String);
    if (gk.join(",") !== wk.join(",")) {
      reasons.push(`plan entry ${i + 1} has arguments (${gk}), expected (${wk})`);
      return;
    }
    for (const key of wk) {
      const r = want.kwargs.get(key)!;
      if (got.unknown.has(key)) {
        if (i === 0 && step.calls.length > 0) {
          reasons.push(`plan entry 1 (the next call) leaves "${key}" unresolved`);
        } else if (valueLeaves(r).every((v) => tauKnownAt(trace, k, v))) {
          reasons.push(`plan entry ${i + 1} leaves the known value ${pyJsonDumps(r)} unresolved`);
        }
      } else if (pyJsonDumps(got.kwargs.get(key)!) !== pyJsonDumps(r)) {
        reasons.push(
          `plan entry ${i + 1} has ${key}=${pyJsonDumps(got.kwargs.get(key)!)} where the gold ` +
            `action has ${pyJsonDumps(r)}`,
        );
      }
    }
  });
  // Execution: the plan as written, from the step's state; a `?` is bound to the gold value only
  // when the values it needs are known or came out of the plan's own earlier calls.
  if (entries.every((e) => e !== null)) {
    const db = tauStateAt(trace, k);
    const produced = new Set<string>();
    let bound = true;
    entries.forEach((e, i) => {
      const want = gold[i];
      let kwargs = e!.kwargs;
      if (e!.unknown.size > 0) {
        kwargs = e!.kwargs.copy();
        for (const key of e!.unknown) {
          const r = want?.name === e!.name ? want.kwargs.get(key) : undefined;
          const ok = r !== undefined &&
            valueLeaves(r).every((v) =>
              produced.has(v) || tauKnownAt(trace, k, v) || !inOutputsBefore(trace, k + i, v)
            );
          if (!ok) {
            bound = false;
            reasons.push(`plan entry ${i + 1}: no executed output supplies "${key}"`);
          } else kwargs.set(key, r);
        }
      }
      const obs = execute(trace.domain, db, e!.name, kwargs);
      for (const a of tauAtoms(obs)) produced.add(a.value);
    });
    if (bound && !sameDbState(db, trace.goldDb)) {
      reasons.push(
        `executing the plan does not reproduce the gold end state (hash ${trace.goldHash})`,
      );
    }
  }
  // Summary claims are in the executed outputs.
  let done = 0;
  for (const line of parsed.summary) {
    let m;
    if ((m = /^done: (.*) -> (.*)$/.exec(line))) {
      const s = k > done ? trace.steps[done] : undefined;
      done++;
      if (!s || s.call !== m[1]) {
        reasons.push(`false claim: "${line}" is not the next completed step`);
        continue;
      }
      if (m[2] === "ok") continue;
      if (m[2] === "error") {
        if (!s.observation.startsWith("Error")) reasons.push(`false claim: ${s.name} failed`);
        continue;
      }
      for (const claim of m[2]!.split(", ")) {
        const eq = claim.indexOf("=");
        const key = claim.slice(0, eq);
        const value = claim.slice(eq + 1);
        if (eq < 0 || !s.atoms.some((a) => a.key === key && a.value === value)) {
          reasons.push(`false claim: ${s.name} did not return ${claim}`);
        }
      }
    } else if ((m = /^fact: (\w+)\.([\w ]+)=(.*)$/.exec(line))) {
      const [, name, key, value] = m;
      const found = trace.steps.slice(0, k).some((s) =>
        s.name === name && s.atoms.some((a) => a.key === key && a.value === value)
      );
      if (!found) reasons.push(`false claim: no executed ${name} returned ${key}=${value}`);
    } else {
      reasons.push(`unreadable summary line: "${line}"`);
    }
  }
  if (done < k) reasons.push(`summary omits ${k - done} completed step(s)`);
  // Sufficiency: what the next call takes from earlier outputs is in the block.
  const next = trace.steps[k];
  if (next && step.calls.length > 0) {
    for (const v of valueLeaves(next.kwargs)) {
      const fromOutputs = trace.steps.slice(0, k).some((s) => s.atoms.some((a) => a.value === v));
      if (!fromOutputs || inText(v, trace.user)) continue;
      if (!text.includes(v)) reasons.push(`summary lacks the value ${v} the next call needs`);
    }
  }
  return { ok: reasons.length === 0, reasons };
}

/** The verdicts of an annotation, and whether the trajectory as annotated earns reward 1. */
export interface TauVerification {
  readonly verdicts: readonly BlockVerdict[];
  /** Every block verified and the annotated trajectory earns reward 1. */
  readonly ok: boolean;
  /** The gold replay's end state equals `gt_data_hash` and its replies state the outputs. */
  readonly reward: number;
}

/** Verifies every block of an annotation and the reward of the annotated trajectory. */
export function verifyTauAnnotation(ann: TauAnnotation): TauVerification {
  const { trace } = ann;
  const verdicts = ann.steps.map((s) => verifyTauStep(trace, s, s.progress.text));
  const db = tauStateAt(trace, trace.steps.length);
  const replies = ann.steps.filter((s) => s.calls.length === 0).map((s) => s.reply);
  const reward = calculateReward(trace.domain, trace.task, db, replies).reward;
  return {
    verdicts,
    reward,
    ok: trace.reachesGold && reward === 1 && verdicts.every((v) => v.ok),
  };
}

/** The result of annotating and verifying one task. */
export interface TauAnnotated {
  readonly id: string;
  readonly annotation: TauAnnotation;
  readonly verification: TauVerification;
}

/** Annotates and verifies a task by its id (`taubench_<domain>_<split>_<index>`). */
export function annotateTauById(id: string): TauAnnotated {
  const ref = parseTauId(id);
  if (!ref) {
    throw new RangeError(
      `Invalid τ-bench task id "${id}": expected taubench_<retail|airline>_<test|train|dev>_<index>`,
    );
  }
  if (!(SPLITS[ref.domain] as readonly string[]).includes(ref.split)) {
    throw new RangeError(
      `Invalid τ-bench task id "${id}": ${ref.domain} has no ${ref.split} split`,
    );
  }
  const annotation = annotateTau(ref.domain, ref.split, ref.index);
  return { id, annotation, verification: verifyTauAnnotation(annotation) };
}

/** Counts over a set of annotated tasks. */
export interface TauSplitReport {
  readonly tasks: number;
  readonly verifiedTasks: number;
  readonly blocks: number;
  readonly failedBlocks: number;
  /** Dropped tasks (any block failed, or reward below 1) / tasks. */
  readonly dropRate: number;
  /** Failed blocks / blocks. */
  readonly blockDropRate: number;
  /** Reasons of the dropped tasks, by task id. */
  readonly dropped: Readonly<Record<string, readonly string[]>>;
}

/** Annotates and verifies every task of a split (in order); `onTask` sees each result. */
export function annotateTauSplit(
  domain: Domain,
  split: Split,
  onTask?: (r: TauAnnotated) => void,
): TauSplitReport {
  const n = loadTasks(domain, split).length;
  let verifiedTasks = 0;
  let blocks = 0;
  let failedBlocks = 0;
  const dropped: Record<string, string[]> = {};
  for (let i = 0; i < n; i++) {
    const r = annotateTauById(tauTaskId(domain, split, i));
    blocks += r.verification.verdicts.length;
    failedBlocks += r.verification.verdicts.filter((v) => !v.ok).length;
    if (r.verification.ok) verifiedTasks++;
    else {
      dropped[r.id] = [
        ...r.verification.verdicts.flatMap((v) => v.reasons),
        ...(r.annotation.trace.reachesGold ? [] : ["the gold replay misses the gold end state"]),
        ...(r.verification.reward === 1 ? [] : ["the annotated trajectory earns reward 0"]),
      ];
    }
    onTask?.(r);
  }
  return {
    tasks: n,
    verifiedTasks,
    blocks,
    failedBlocks,
    dropRate: n === 0 ? 0 : (n - verifiedTasks) / n,
    blockDropRate: blocks === 0 ? 0 : failedBlocks / blocks,
    dropped,
  };
}
