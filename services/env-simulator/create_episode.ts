/**
 * Create an episode from a vendored task id or an inline task object (validated).
 * @module
 */
import { PyDict } from "@parlmt/pycompat";
import { Episode } from "./episode.ts";
import { BFCL_CLASS_NAMES } from "./envs/registry.ts";
import {
  type BfclTask,
  categoryOf,
  functionDocs,
  getTask,
  isLongContextCategory,
} from "./tasks.ts";

/** An inline task (the shape of a BFCL question entry, plus optional ground truth). */
export interface InlineTask {
  /** Task id; the category (and the long_context switch) derive from it. */
  id: string;
  /** One list of `{role, content}` user messages per turn. */
  question: { role: string; content: string }[][];
  /** Classes to instantiate, in order. */
  involved_classes: string[];
  /** Initial state per class (Python values; use `parsePyJson` to keep int vs float). */
  initial_config?: PyDict;
  /** miss_func: turn index → held-out function names. */
  missed_function?: Record<string, string[]>;
  /** Ground-truth call strings per turn (needed only for `evaluate`). */
  ground_truth?: string[][];
  /** Force the long_context augmentation on or off (default: derived from the id). */
  long_context?: boolean;
  /** List only these functions to the model (all of the classes' functions still execute). */
  offered_functions?: string[];
}

function validate(t: InlineTask): BfclTask {
  if (typeof t !== "object" || t === null) {
    throw new TypeError("Cannot create episode: task must be an object");
  }
  if (typeof t.id !== "string" || t.id.length === 0 || t.id.length > 200) {
    throw new TypeError(
      'Cannot create episode: field "id" must be a non-empty string of at most 200 characters',
    );
  }
  if (!Array.isArray(t.question) || t.question.length === 0 || t.question.length > 100) {
    throw new TypeError('Cannot create episode: field "question" must be a list of 1 to 100 turns');
  }
  t.question.forEach((turn, i) => {
    if (
      !Array.isArray(turn) ||
      !turn.every((m) => typeof m?.role === "string" && typeof m?.content === "string")
    ) {
      throw new TypeError(
        `Cannot create episode: field "question[${i}]" must be a list of {role, content} strings`,
      );
    }
  });
  if (!Array.isArray(t.involved_classes) || t.involved_classes.length === 0) {
    throw new TypeError('Cannot create episode: field "involved_classes" must be a non-empty list');
  }
  for (const c of t.involved_classes) {
    if (!BFCL_CLASS_NAMES.includes(c)) {
      throw new RangeError(
        `Cannot create episode: field "involved_classes" has unknown class "${c}"`,
      );
    }
  }
  if (t.initial_config !== undefined && !(t.initial_config instanceof PyDict)) {
    throw new TypeError('Cannot create episode: field "initial_config" must be a PyDict');
  }
  const missed = new Map<number, string[]>();
  for (const [k, v] of Object.entries(t.missed_function ?? {})) {
    const turn = Number(k);
    if (!Number.isInteger(turn) || turn < 0 || turn >= t.question.length) {
      throw new RangeError(`Cannot create episode: field "missed_function" has bad turn "${k}"`);
    }
    if (!Array.isArray(v) || !v.every((n) => typeof n === "string")) {
      throw new TypeError(
        `Cannot create episode: field "missed_function.${k}" must be a list of names`,
      );
    }
    missed.set(turn, v);
  }
  const gt = t.ground_truth ?? [];
  if (
    !Array.isArray(gt) ||
    !gt.every((turn) => Array.isArray(turn) && turn.every((c) => typeof c === "string"))
  ) {
    throw new TypeError(
      'Cannot create episode: field "ground_truth" must be a list of lists of call strings',
    );
  }
  const offered = t.offered_functions;
  if (offered !== undefined) {
    if (!Array.isArray(offered) || !offered.every((n) => typeof n === "string")) {
      throw new TypeError(
        'Cannot create episode: field "offered_functions" must be a list of function names',
      );
    }
    const known = new Set(t.involved_classes.flatMap((c) => functionDocs(c).map((d) => d.name)));
    const unknown = offered.find((n) => !known.has(n));
    if (unknown !== undefined) {
      throw new RangeError(
        `Cannot create episode: field "offered_functions" names "${
          unknown.slice(0, 100)
        }", which no involved class has`,
      );
    }
  }
  const category = categoryOf(t.id);
  return {
    id: t.id,
    category,
    question: t.question,
    initialConfig: t.initial_config ?? new PyDict(),
    involvedClasses: t.involved_classes,
    missedFunction: missed,
    groundTruth: gt,
    longContext: t.long_context ?? isLongContextCategory(category),
    offeredFunctions: offered && offered.length > 0 ? new Set(offered) : undefined,
  };
}

/** Create an episode from a vendored task id or an inline task. Throws `RangeError`/`TypeError`. */
export function createEpisode(source: string | InlineTask): Episode {
  if (typeof source === "string") {
    const task = getTask(source);
    if (!task) throw new RangeError(`Cannot create episode: unknown task id "${source}"`);
    return new Episode(task);
  }
  return new Episode(validate(source));
}
