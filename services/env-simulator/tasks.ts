/**
 * The vendored BFCL v4 multi-turn tasks (questions, initial configs, ground truth) and
 * function docs.
 * @module
 */
import { parsePyJson, PyDict, type PyValue } from "@parlmt/pycompat";
import { readBfclDataFile } from "./data_files.ts";

/** The four scored BFCL multi-turn categories. */
export const BFCL_CATEGORIES = [
  "multi_turn_base",
  "multi_turn_miss_func",
  "multi_turn_miss_param",
  "multi_turn_long_context",
] as const;

/** A scored BFCL multi-turn category. */
export type BfclCategory = typeof BFCL_CATEGORIES[number];

/** One user message of a turn. */
export interface BfclMessage {
  /** Always `"user"` in the data. */
  readonly role: string;
  /** The message text. */
  readonly content: string;
}

/** One BFCL multi-turn task. */
export interface BfclTask {
  /** For example `"multi_turn_base_0"`. */
  readonly id: string;
  /** `id.rsplit("_", 1)[0]`. */
  readonly category: string;
  /** One list of user messages per turn (a held-out miss_func turn is empty). */
  readonly question: readonly (readonly BfclMessage[])[];
  /** The initial state per class name (Python values). */
  readonly initialConfig: PyDict;
  /** Classes to instantiate, in order. */
  readonly involvedClasses: readonly string[];
  /** miss_func: turn index → functions withheld until that turn. */
  readonly missedFunction: ReadonlyMap<number, readonly string[]>;
  /** Ground-truth call strings per turn (empty when the task has no ground truth). */
  readonly groundTruth: readonly (readonly string[])[];
  /** Whether the long_context augmentation applies (derived from the category name). */
  readonly longContext: boolean;
  /** The functions listed to the model (a subset of the classes' functions); absent: all. */
  readonly offeredFunctions?: ReadonlySet<string>;
}

/** One function doc as in `multi_turn_func_doc/*.json`. */
export interface FunctionDoc {
  /** The function name. */
  readonly name: string;
  /** The description shown to the model. */
  readonly description: string;
  /** JSON-schema-like parameters. */
  readonly parameters: Record<string, unknown>;
  /** The documented response. */
  readonly response?: Record<string, unknown>;
}

/** Class name → func-doc file (`constants/executable_backend_config.py`). */
export const FUNC_DOC_FILES: Readonly<Record<string, string>> = {
  GorillaFileSystem: "gorilla_file_system.json",
  MathAPI: "math_api.json",
  MessageAPI: "message_api.json",
  TwitterAPI: "posting_api.json",
  TicketAPI: "ticket_api.json",
  TradingBot: "trading_bot.json",
  TravelAPI: "travel_booking.json",
  VehicleControlAPI: "vehicle_control.json",
};

/** `id.rsplit("_", 1)[0]` */
export function categoryOf(id: string): string {
  const i = id.lastIndexOf("_");
  return i < 0 ? id : id.slice(0, i);
}

/** The reference's long-context switch: the category contains `long_context` or `composite`. */
export function isLongContextCategory(category: string): boolean {
  return category.includes("long_context") || category.includes("composite");
}

function jsonLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim().length > 0);
}

function toPlain(v: PyValue): unknown {
  if (v instanceof PyDict) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = toPlain(x);
    return o;
  }
  if (Array.isArray(v)) return v.map((x) => toPlain(x));
  if (typeof v === "bigint") return Number(v);
  return v;
}

function buildTask(entry: PyDict, groundTruth: readonly (readonly string[])[]): BfclTask {
  const id = String(entry.get("id"));
  const category = categoryOf(id);
  const missed = new Map<number, string[]>();
  const mf = entry.get("missed_function");
  if (mf instanceof PyDict) {
    for (const [k, names] of mf) missed.set(Number(k), (names as string[]).map(String));
  }
  const config = entry.get("initial_config");
  return {
    id,
    category,
    question: toPlain(entry.get("question") ?? []) as BfclMessage[][],
    initialConfig: config instanceof PyDict ? config : new PyDict(),
    involvedClasses: ((entry.get("involved_classes") ?? []) as string[]).map(String),
    missedFunction: missed,
    groundTruth,
    longContext: isLongContextCategory(category),
  };
}

let taskCache: Map<string, BfclTask> | undefined;

function allTasks(): Map<string, BfclTask> {
  if (taskCache) return taskCache;
  const map = new Map<string, BfclTask>();
  for (const category of BFCL_CATEGORIES) {
    const file = `BFCL_v4_${category}.json`;
    const answers = new Map<string, string[][]>();
    for (const line of jsonLines(readBfclDataFile(`possible_answer/${file}`))) {
      const a = JSON.parse(line) as { id: string; ground_truth: string[][] };
      answers.set(a.id, a.ground_truth);
    }
    for (const line of jsonLines(readBfclDataFile(`data/${file}`))) {
      const entry = parsePyJson(line) as PyDict;
      const id = String(entry.get("id"));
      map.set(id, buildTask(entry, answers.get(id) ?? []));
    }
  }
  taskCache = map;
  return map;
}

/** List the vendored tasks, optionally of one category, in file order. */
export function listTasks(category?: string): BfclTask[] {
  const tasks = [...allTasks().values()];
  if (category === undefined) return tasks;
  if (!(BFCL_CATEGORIES as readonly string[]).includes(category)) {
    throw new RangeError(
      `Cannot list tasks of category "${category}": expected one of ${BFCL_CATEGORIES.join(", ")}`,
    );
  }
  return tasks.filter((t) => t.category === category);
}

/** The vendored task with this id, or `undefined`. */
export function getTask(id: string): BfclTask | undefined {
  return allTasks().get(id);
}

const docCache = new Map<string, FunctionDoc[]>();

/** The function docs of one class, in file order. */
export function functionDocs(className: string): FunctionDoc[] {
  const cached = docCache.get(className);
  if (cached) return cached;
  const file = FUNC_DOC_FILES[className];
  if (file === undefined) throw new RangeError(`Cannot find function docs of class "${className}"`);
  const docs = jsonLines(readBfclDataFile(`func_doc/${file}`)).map((l) =>
    JSON.parse(l) as FunctionDoc
  );
  docCache.set(className, docs);
  return docs;
}

/**
 * The function docs listed to the model at `turn`: the involved classes' functions in file
 * order, restricted to `offered` when given, with miss_func's withheld functions left out until
 * their turn and then appended after the others (the reference's order).
 */
export function listedFunctionDocs(
  classes: readonly string[],
  missed: ReadonlyMap<number, readonly string[]>,
  turn: number,
  offered?: ReadonlySet<string>,
): FunctionDoc[] {
  const held = new Map<string, number>();
  for (const [t, names] of missed) for (const n of names) held.set(n, t);
  const docs: FunctionDoc[] = [];
  const later: FunctionDoc[] = [];
  for (const cls of classes) {
    for (const doc of functionDocs(cls)) {
      if (offered && !offered.has(doc.name)) continue;
      const t = held.get(doc.name);
      if (t === undefined) docs.push(doc);
      else if (t <= turn) later.push(doc);
    }
  }
  return [...docs, ...later];
}

/** Build a task from an inline ground-truth-free description (used by `createEpisode`). */
export function taskFromEntry(
  entry: PyDict,
  groundTruth: readonly (readonly string[])[] = [],
): BfclTask {
  return buildTask(entry, groundTruth);
}
