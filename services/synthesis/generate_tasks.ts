/**
 * The task generator of the synthetic curriculum: deterministic per (seed, index, split). Each
 * task draws one or two environment classes, a varied initial state, and a chain of intents whose
 * later calls use what earlier calls returned; the ground truth is found by executing the calls,
 * and the finished task is replayed through an episode whose checker must pass.
 * @module
 */
import { createEpisode, EXECUTION_ERROR_PREFIX, Executor, functionDocs } from "@parlmt/bfcl";
import { PyDict, PyRandom } from "@parlmt/pycompat";
import {
  drawEntity,
  ENTITY_POOL_KINDS,
  type EntityKind,
  type EntityPools,
  isSplitKind,
  type Split,
} from "./entities.ts";
import type { Intent, IntentContext, IntentResult } from "./intent.ts";
import { initialState } from "./initial_states.ts";
import { FILE_INTENTS, MATH_INTENTS } from "./intents_files.ts";
import { MESSAGE_INTENTS, TICKET_INTENTS, TWITTER_INTENTS } from "./intents_services.ts";
import { TRADING_INTENTS, TRAVEL_INTENTS, VEHICLE_INTENTS } from "./intents_trips.ts";
import { DISTRACTORS, fill, PHRASINGS, PROVIDE, splitFamilies, VAGUE } from "./templates.ts";

/** Every intent of the grammar. */
export const INTENTS: readonly Intent[] = [
  ...FILE_INTENTS,
  ...MATH_INTENTS,
  ...TICKET_INTENTS,
  ...MESSAGE_INTENTS,
  ...TWITTER_INTENTS,
  ...TRADING_INTENTS,
  ...TRAVEL_INTENTS,
  ...VEHICLE_INTENTS,
];

/** The eight classes the generator covers. */
export const SYNTH_CLASSES: readonly string[] = [...new Set(INTENTS.map((i) => i.cls))];

/** The knobs of the generator (the proto's TaskGenOptions, validated). */
export interface GenOptions {
  /** @default 2 */
  readonly minTurns: number;
  /** @default 4 */
  readonly maxTurns: number;
  /** @default 3 */
  readonly maxCallsPerTurn: number;
  /** @default 2 */
  readonly maxDependencyDepth: number;
  /** @default 0 */
  readonly longContextRate: number;
  /** @default 0.1 */
  readonly missParamRate: number;
  /** @default 0.1 */
  readonly missFuncRate: number;
  /** Classes to draw from (empty: all eight). */
  readonly classes: readonly string[];
  /** @default 1 */
  readonly maxDistractors: number;
  /**
   * List only this many functions to the policy: the task's own (its ground-truth and revealed
   * functions) and distractors drawn from its classes, never a function a turn lacks.
   * 0 (the default) lists every function of the classes.
   */
  readonly offeredTools?: number;
  /**
   * What the test split holds out: `"template+entity"` (the default) phrases its requests with
   * template families and small talk never used in training and fills them with entity values
   * never used in training; `"entity"` holds out only the values (a test task reads like a train
   * task, with names, files, cities and amounts the model has never seen); `"template"` holds
   * out only the phrasings (a test task is worded in a way never seen in training, about values
   * that training tasks use too).
   */
  readonly heldout?: Heldout;
  /**
   * `"base"` (the default) draws names, words and handles from small fixed pools; `"wide"`
   * adds hundreds of made-up values per free kind, so that a model has to copy values from the
   * request rather than learn them (see `wideValues`).
   */
  readonly entities?: EntityPools;
}

/** What the test split holds out (see {@linkcode GenOptions.heldout}). */
export type Heldout = "template+entity" | "entity" | "template";
/** Every {@linkcode Heldout} value. */
export const HELDOUT_KINDS: readonly Heldout[] = ["template+entity", "entity", "template"];

/** The default knobs. */
export const DEFAULT_GEN_OPTIONS: GenOptions = Object.freeze({
  minTurns: 2,
  maxTurns: 4,
  maxCallsPerTurn: 3,
  maxDependencyDepth: 2,
  longContextRate: 0,
  missParamRate: 0.1,
  missFuncRate: 0.1,
  classes: [],
  maxDistractors: 1,
});

/** One user turn of a synthetic task. */
export interface SynthTurn {
  /** User messages (empty for a miss_func turn that only reveals functions). */
  readonly user: readonly string[];
  /** Ground-truth calls (BFCL syntax). */
  readonly calls: readonly string[];
  /** Functions revealed at this turn (miss_func). */
  readonly revealed: readonly string[];
  /** The right action is to ask for a missing value (miss_param). */
  readonly clarify: boolean;
  /** The intent rendered (for statistics). */
  readonly intent: string;
  /** For a clarify turn: the label of the missing value. */
  readonly askLabel?: string;
  /** For a turn that cannot be served: the function it lacks. */
  readonly lacks?: string;
}

/** A generated task (plain types; the server converts it to parlmt.v1.Task). */
export interface SynthTask {
  readonly id: string;
  readonly split: Split;
  /** The template family, e.g. `"f2"`. */
  readonly family: string;
  readonly classes: readonly string[];
  readonly initialConfig: PyDict;
  readonly longContext: boolean;
  /** Turn index → functions held out until that turn. */
  readonly missedFunction: Readonly<Record<string, readonly string[]>>;
  readonly turns: readonly SynthTurn[];
  /** The split-bearing entity values used (sorted, unique). */
  readonly entities: readonly string[];
  /** The functions listed to the policy (absent: all of the classes'). */
  readonly offered?: readonly string[];
}

/** Validates knobs; throws RangeError naming the field. */
export function validateGenOptions(o: GenOptions): GenOptions {
  const int = (name: keyof GenOptions, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(
        `Invalid option "${name}": expected an integer in [${lo}, ${hi}], got ${v}`,
      );
    }
  };
  const rate = (name: keyof GenOptions, v: number) => {
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(`Invalid option "${name}": expected a rate in [0, 1], got ${v}`);
    }
  };
  int("minTurns", o.minTurns, 1, 8);
  int("maxTurns", o.maxTurns, 1, 8);
  if (o.maxTurns < o.minTurns) {
    throw new RangeError(
      `Invalid option "maxTurns": ${o.maxTurns} is less than minTurns ${o.minTurns}`,
    );
  }
  int("maxCallsPerTurn", o.maxCallsPerTurn, 1, 8);
  int("maxDependencyDepth", o.maxDependencyDepth, 0, 4);
  int("maxDistractors", o.maxDistractors, 0, 5);
  int("offeredTools", o.offeredTools ?? 0, 0, 200);
  if (o.entities !== undefined && !ENTITY_POOL_KINDS.includes(o.entities)) {
    throw new RangeError(
      `Invalid option "entities": expected one of ${
        ENTITY_POOL_KINDS.join(", ")
      }, got "${o.entities}"`,
    );
  }
  if (o.heldout !== undefined && !HELDOUT_KINDS.includes(o.heldout)) {
    throw new RangeError(
      `Invalid option "heldout": expected one of ${HELDOUT_KINDS.join(", ")}, got "${o.heldout}"`,
    );
  }
  rate("longContextRate", o.longContextRate);
  rate("missParamRate", o.missParamRate);
  rate("missFuncRate", o.missFuncRate);
  for (const c of o.classes) {
    if (!SYNTH_CLASSES.includes(c)) {
      throw new RangeError(`Invalid option "classes": unknown class "${c}"`);
    }
  }
  return o;
}

function seedOf(seed: number, index: number, split: Split): bigint {
  return (BigInt(seed) * 1_000_003n + BigInt(index)) * 2n + (split === "test" ? 1n : 0n);
}

function failed(text: string): boolean {
  return text.startsWith(EXECUTION_ERROR_PREFIX) || /^\{"error": |^\[\{'error': /.test(text) ||
    /"(success|sent_status|added_status|canDrive|authentication_status)": false/.test(text);
}

function parseResult(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (_) {
    return text; // Python repr (lists of dicts) or "None": intents read lastText instead
  }
}

function shuffled<T>(rng: PyRandom, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.randintNumber(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Generates task `index` of `split` for `seed` (deterministic). */
export function generateTask(
  seed: number,
  index: number,
  split: Split,
  options: GenOptions = DEFAULT_GEN_OPTIONS,
): SynthTask {
  const o = validateGenOptions(options);
  const rng = new PyRandom(seedOf(seed, index, split));
  const entities = new Set<string>();
  // The split whose entity values this task uses.
  const values: Split = o.heldout === "template" ? "train" : split;
  const draw = (kind: EntityKind, exclude?: ReadonlySet<string>) => {
    const v = drawEntity(rng, kind, values, exclude, o.entities);
    if (isSplitKind(kind)) entities.add(v);
    return v;
  };
  const pool = o.classes.length > 0 ? o.classes : SYNTH_CLASSES;
  const classes = [pool[rng.randintNumber(0, pool.length - 1)]!];
  if (pool.length > 1 && rng.random() < 0.3) {
    const rest = pool.filter((c) => c !== classes[0]);
    classes.push(rest[rng.randintNumber(0, rest.length - 1)]!);
  }
  // The split whose phrasings (template families and small talk) this task uses.
  const phrasing: Split = o.heldout === "entity" ? "train" : split;
  const families = splitFamilies(phrasing);
  const family = families[rng.randintNumber(0, families.length - 1)]!;
  const longContext = rng.random() < o.longContextRate;
  const config = new PyDict();
  const facts = new Map<string, string>();
  for (const cls of classes) {
    const st = initialState(cls, rng, draw);
    if (cls !== "MathAPI") config.set(cls, st.config);
    for (const [k, v] of st.facts) facts.set(k, v);
  }
  let gt = new Executor(classes, config, longContext);
  const used = new Set<string>();
  const turns: SynthTurn[] = [];
  const missed: Record<string, string[]> = {};
  const nTurns = rng.randintNumber(o.minTurns, o.maxTurns);
  const intents = INTENTS.filter((i) =>
    classes.includes(i.cls) && i.maxCalls <= o.maxCallsPerTurn && i.depth <= o.maxDependencyDepth
  );
  while (turns.length < nTurns) {
    let built: { intent: Intent; res: IntentResult; facts: Map<string, string> } | undefined;
    for (const intent of shuffled(rng, intents)) {
      if (intent.needs?.some((k) => !facts.has(k))) continue;
      const work = gt.clone();
      const workFacts = new Map(facts);
      let lastText = "";
      const ctx: IntentContext = {
        rng,
        split,
        draw,
        int: (lo, hi) => rng.randintNumber(lo, hi),
        choice: (xs) => xs[rng.randintNumber(0, xs.length - 1)]!,
        run(call) {
          lastText = work.executeStrings([call])[0]!;
          if (failed(lastText)) {
            throw new RangeError(
              `Cannot use call "${call}": it failed with ${lastText.slice(0, 120)}`,
            );
          }
          return parseResult(lastText);
        },
        peek: (call) => parseResult(work.clone().executeStrings([call])[0]!),
        get lastText() {
          return lastText;
        },
        facts: workFacts,
        usedFunctions: used,
      };
      try {
        built = { intent, res: intent.build(ctx), facts: workFacts };
        gt = work;
        break;
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
    }
    if (!built) break;
    const { intent, res } = built;
    for (const [k, v] of built.facts) facts.set(k, v);
    for (const k of [...facts.keys()]) if (!built.facts.has(k)) facts.delete(k);
    const names = res.calls.map((c) => c.slice(0, c.indexOf("(")));
    const text = fill(PHRASINGS[intent.id]![family]!, res.slots);
    const budget = nTurns - turns.length;
    const userText = (t: string) => withDistractors(rng, t, o.maxDistractors, phrasing);
    const fresh = names.find((n) => !used.has(n));
    if (budget >= 2 && res.ask && rng.random() < o.missParamRate) {
      const vague = fill(PHRASINGS[intent.id]![family]!, {
        ...res.slots,
        [res.ask.slot]: VAGUE[res.ask.slot] ?? "something",
      }).replace(/'(something|some|a number|another name)'/g, "$1");
      turns.push({
        user: [userText(vague)],
        calls: [],
        revealed: [],
        clarify: true,
        intent: intent.id,
        askLabel: res.ask.label,
      });
      const provide = fill(PROVIDE[family]!, {
        label: res.ask.label,
        value: res.slots[res.ask.slot]!,
      });
      turns.push({
        user: [provide],
        calls: res.calls,
        revealed: [],
        clarify: false,
        intent: intent.id,
      });
    } else if (budget >= 2 && fresh !== undefined && rng.random() < o.missFuncRate) {
      turns.push({
        user: [userText(text)],
        calls: [],
        revealed: [],
        clarify: false,
        intent: intent.id,
        lacks: fresh,
      });
      missed[String(turns.length)] = [fresh];
      turns.push({
        user: [],
        calls: res.calls,
        revealed: [fresh],
        clarify: false,
        intent: intent.id,
      });
    } else {
      turns.push({
        user: [userText(text)],
        calls: res.calls,
        revealed: [],
        clarify: false,
        intent: intent.id,
      });
    }
    for (const n of names) used.add(n);
  }
  if (turns.length === 0) {
    throw new RangeError(`Cannot generate task ${index} of seed ${seed}: no intent applies`);
  }
  const task: SynthTask = {
    id: `synth_${split}_${seed}_${index}`,
    split,
    family: `f${family}`,
    classes,
    initialConfig: config,
    longContext,
    missedFunction: missed,
    turns,
    entities: [...entities].sort(),
  };
  checkGroundTruth(task);
  if (!o.offeredTools) return task;
  // A stream of its own, so the listing does not change the rest of the task.
  const offered = offeredFunctions(
    task,
    o.offeredTools,
    new PyRandom(seedOf(seed, index, split) + 7n),
  );
  return { ...task, offered };
}

/**
 * The functions to list for `task`: its own (ground truth and revealed), then distractors from
 * its classes up to `count` in all, never one a turn lacks; in the classes' file order.
 */
export function offeredFunctions(task: SynthTask, count: number, rng: PyRandom): string[] {
  const own = new Set<string>();
  for (const t of task.turns) {
    for (const c of t.calls) own.add(c.slice(0, c.indexOf("(")).trim());
    for (const r of t.revealed) own.add(r);
  }
  const lacking = new Set(task.turns.flatMap((t) => (t.lacks ? [t.lacks] : [])));
  const all = task.classes.flatMap((c) => functionDocs(c).map((d) => d.name));
  const pool = all.filter((n) => !own.has(n) && !lacking.has(n));
  const chosen = new Set(own);
  while (chosen.size < count && pool.length > 0) {
    chosen.add(pool.splice(rng.randintNumber(0, pool.length - 1), 1)[0]!);
  }
  return all.filter((n) => chosen.has(n));
}

function withDistractors(rng: PyRandom, text: string, max: number, split: Split): string {
  const n = max > 0 ? rng.randintNumber(0, max) : 0;
  const parts = [text];
  for (let i = 0; i < n; i++) {
    const s = DISTRACTORS[split][rng.randintNumber(0, DISTRACTORS[split].length - 1)]!;
    if (rng.random() < 0.5) parts.unshift(s);
    else parts.push(s);
  }
  return parts.join(" ");
}

/** The task as an inline BFCL task for `createEpisode`. */
export function toInlineTask(task: SynthTask) {
  return {
    id: task.id,
    question: task.turns.map((t) => t.user.map((content) => ({ role: "user", content }))),
    involved_classes: [...task.classes],
    initial_config: task.initialConfig,
    missed_function: Object.fromEntries(
      Object.entries(task.missedFunction).map(([k, v]) => [k, [...v]]),
    ),
    ground_truth: task.turns.map((t) => [...t.calls]),
    long_context: task.longContext,
    ...(task.offered ? { offered_functions: [...task.offered] } : {}),
  };
}

/** Replays the ground truth in a fresh episode: every call succeeds and the checker passes. */
export function checkGroundTruth(task: SynthTask): void {
  const ep = createEpisode(toInlineTask(task));
  for (const turn of task.turns) {
    for (const call of turn.calls) {
      const { results } = ep.step(`[${call}]`);
      if (failed(results[0]!)) {
        throw new Error(`Ground truth of "${task.id}" failed at "${call}": ${results[0]}`);
      }
    }
    ep.advanceTurn();
  }
  const verdict = ep.evaluate();
  if (!verdict.valid) {
    throw new Error(`Ground truth of "${task.id}" fails the checker: ${verdict.errorType}`);
  }
}
