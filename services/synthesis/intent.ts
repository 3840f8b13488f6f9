/**
 * The shape of a curriculum intent: a small request in one environment class whose ground truth
 * is found by executing calls (so later calls can use what earlier calls returned).
 * @module
 */
import type { PyRandom } from "@parlmt/pycompat";
import type { EntityKind, Split } from "./entities.ts";

/** What an intent may use while it builds its calls. */
export interface IntentContext {
  readonly rng: PyRandom;
  readonly split: Split;
  /** Draws a split-safe entity value (recorded as one of the task's entities). */
  draw(kind: EntityKind, exclude?: ReadonlySet<string>): string;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** Uniform choice. */
  choice<T>(xs: readonly T[]): T;
  /** Executes a ground-truth call; throws RangeError when it fails. Returns the parsed result. */
  run(call: string): unknown;
  /** The raw result string of the last `run`. */
  readonly lastText: string;
  /** Executes a call on a throwaway copy of the state (for looking around). */
  peek(call: string): unknown;
  /** Facts earlier turns established (e.g. `ticket` → `7424`); intents update them. */
  readonly facts: Map<string, string>;
  /** Function names used by earlier turns. */
  readonly usedFunctions: ReadonlySet<string>;
}

/** The built request: slot values for the phrasing and the executed calls. */
export interface IntentResult {
  /** Slot values for the phrasing (`{name}` in the templates). */
  readonly slots: Readonly<Record<string, string>>;
  /** The executed ground-truth calls, in order. */
  readonly calls: readonly string[];
  /** The slot a miss_param turn may withhold, with its label ("file name"). */
  readonly ask?: { readonly slot: string; readonly label: string };
}

/** One intent of the grammar. */
export interface Intent {
  /** `class.verb`, also the key of its phrasings. */
  readonly id: string;
  /** The environment class. */
  readonly cls: string;
  /** Most calls it makes. */
  readonly maxCalls: number;
  /** Longest chain of calls that use an earlier call's result (within the turn or across). */
  readonly depth: number;
  /** Fact keys that must exist (set by earlier turns). */
  readonly needs?: readonly string[];
  /** Builds the request; throws RangeError when it does not apply to the current state. */
  build(ctx: IntentContext): IntentResult;
}

/** Python literal of a string (single quotes, as BFCL writes them). */
export function q(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Reads `key` of a parsed result object, throwing RangeError when it is missing. */
export function field(result: unknown, key: string): unknown {
  if (result !== null && typeof result === "object" && key in result) {
    return (result as Record<string, unknown>)[key];
  }
  throw new RangeError(`Cannot read "${key}" of result ${JSON.stringify(result)?.slice(0, 80)}`);
}

/** The number text of `key` in a raw result (`{"result": 2.0}` → `"2.0"`), as Python wrote it. */
export function numberText(text: string, key: string): string {
  const m = new RegExp(`"${key}": (-?[0-9.e+-]+)`).exec(text);
  if (!m) throw new RangeError(`Cannot read number "${key}" of result ${text.slice(0, 80)}`);
  return m[1]!;
}
