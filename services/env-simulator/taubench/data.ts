/**
 * The vendored τ-bench v1 data (`../data/taubench/`, see its PROVENANCE.md): databases, task
 * lists, policies and tool schemas, parsed once per process with Python's types preserved.
 * @module
 */
import { gunzipSync } from "node:zlib";
import { parsePyJson, PyDict, type PyValue } from "@parlmt/pycompat";
import type { PristineTables } from "./db.ts";

/** The two v1 domains. */
export type Domain = "retail" | "airline";
/** Task splits (airline has only `test`). */
export type Split = "test" | "train" | "dev";

/** The domains, in a fixed order. */
export const DOMAINS: readonly Domain[] = ["retail", "airline"];
/** The splits of each domain. */
export const SPLITS: Readonly<Record<Domain, readonly Split[]>> = {
  retail: ["test", "train", "dev"],
  airline: ["test"],
};

/** One gold action of a task: a tool name and its keyword arguments. */
export interface TauAction {
  /** The tool name (or `respond`). */
  readonly name: string;
  /** The keyword arguments, with Python types (`bigint` ints, `number` floats, `PyDict`s). */
  readonly kwargs: PyDict;
}

/** A τ-bench task (`annotator` is dropped, as the reference's pydantic model does). */
export interface TauTask {
  /** The user id the instruction is about. */
  readonly userId: string;
  /** The hidden instruction given to the user simulator. */
  readonly instruction: string;
  /** The gold actions. */
  readonly actions: readonly TauAction[];
  /** Strings the agent must say (case-insensitive substrings of a text reply). */
  readonly outputs: readonly string[];
}

const DATA_ROOT = new URL("../data/taubench/", import.meta.url);

const TABLES: Readonly<Record<Domain, readonly string[]>> = {
  retail: ["orders", "products", "users"],
  airline: ["flights", "reservations", "users"],
};

function readData(relativePath: string): string {
  const url = new URL(relativePath, DATA_ROOT);
  if (relativePath.endsWith(".gz")) {
    return new TextDecoder().decode(gunzipSync(Deno.readFileSync(url)));
  }
  return Deno.readTextFileSync(url);
}

const pristineCache = new Map<Domain, PristineTables>();
const taskCache = new Map<string, readonly TauTask[]>();

/** The pristine tables of a domain (loaded once; never mutate them). */
export function pristineTables(domain: Domain): PristineTables {
  let t = pristineCache.get(domain);
  if (t === undefined) {
    t = new Map(
      TABLES[domain].map((name) => [name, parsePyJson(readData(`${domain}/${name}.json.gz`))]),
    ) as Map<string, PyDict>;
    pristineCache.set(domain, t);
  }
  return t;
}

/** Check that `domain` and `split` name existing task lists; throws `RangeError` otherwise. */
export function checkSplit(domain: string, split: string): asserts domain is Domain {
  if (domain !== "retail" && domain !== "airline") {
    throw new RangeError(`Unknown domain "${domain}": expected "retail" or "airline"`);
  }
  if (!(SPLITS[domain] as readonly string[]).includes(split)) {
    throw new RangeError(
      `Unknown split "${split}" for domain "${domain}": expected ${SPLITS[domain].join(", ")}`,
    );
  }
}

/** The tasks of a split, in the reference's order. */
export function loadTasks(domain: Domain, split: Split): readonly TauTask[] {
  checkSplit(domain, split);
  const key = `${domain}/${split}`;
  let tasks = taskCache.get(key);
  if (tasks === undefined) {
    const file = split === "train"
      ? `${domain}/tasks_train.json.gz`
      : `${domain}/tasks_${split}.json`;
    tasks = (parsePyJson(readData(file)) as PyValue[]).map((t, i) => taskFromPy(t, `${key}[${i}]`));
    taskCache.set(key, tasks);
  }
  return tasks;
}

/** Convert a task in the data files' shape (`user_id`, `actions[].kwargs`, ...). */
export function taskFromPy(value: PyValue, where: string): TauTask {
  if (!(value instanceof PyDict)) throw new TypeError(`Cannot read task ${where}: not an object`);
  const actions = value.get("actions");
  const outputs = value.get("outputs") ?? [];
  if (!Array.isArray(actions) || !Array.isArray(outputs)) {
    throw new TypeError(`Cannot read task ${where}: "actions" and "outputs" must be arrays`);
  }
  return {
    userId: String(value.get("user_id")),
    instruction: String(value.get("instruction")),
    actions: actions.map((a) => {
      const d = a as PyDict;
      return { name: String(d.get("name")), kwargs: d.get("kwargs") as PyDict };
    }),
    outputs: outputs.map((o) => String(o)),
  };
}

/** The policy text the agent gets as its system prompt. */
export function loadWiki(domain: Domain): string {
  return readData(`${domain}/wiki.md`);
}

/** The OpenAI `tools` list the agent sees, in the reference's order (plain JSON). */
export function loadToolsInfo(domain: Domain): unknown[] {
  return JSON.parse(readData(`${domain}/tools_info.json`));
}

/** Read a vendored file as text (relative to `data/taubench/`, `.gz` decompressed). */
export function readTaubenchDataFile(relativePath: string): string {
  if (relativePath.includes("..")) {
    throw new RangeError(`Cannot read data file "${relativePath}": path escapes the data folder`);
  }
  return readData(relativePath);
}
