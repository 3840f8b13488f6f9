/**
 * How a τ-bench tool is called: the reference runs `Tool.invoke(data=data, **kwargs)` with no
 * schema validation, and `Env.step` turns any exception into `"Error: {e}"`. This file binds
 * keyword arguments the way CPython does (same `TypeError` texts) and wraps the call.
 * @module
 */
import { PyDict, PyError, pyStr, type PyValue } from "@parlmt/pycompat";
import type { TauDb } from "./db.ts";

/** A tool: its name, its Python parameters after `data`, and its body. */
export interface ToolDef {
  /** The tool name, as in `tools_info.json`. */
  readonly name: string;
  /** The positional-or-keyword parameters of `invoke` after `data`, in order. */
  readonly params: readonly string[];
  /**
   * The body, called with the bound arguments in `params` order. Returns the observation, or
   * `null` where the reference returns `None`. Throws {@linkcode PyError} like the reference.
   */
  readonly run: (db: TauDb, args: PyValue[]) => string | null;
}

/** Define a tool (keeps the tool tables short). */
export function tool(
  name: string,
  params: readonly string[],
  run: (db: TauDb, args: PyValue[]) => string | null,
): ToolDef {
  return { name, params, run };
}

/** The Python class name of a tool (`search_onestop_flight` → `SearchOnestopFlight`). */
export function toolClassName(name: string): string {
  return name.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

function quoteList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0]!;
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(", ")}, and ${q[q.length - 1]}`;
}

/**
 * Bind `kwargs` to the tool's parameters like CPython's `invoke(data=..., **kwargs)`; throws
 * a `TypeError` {@linkcode PyError} with CPython's text for a duplicate `data`, an unexpected
 * keyword or missing arguments.
 */
export function bindArguments(domain: string, def: ToolDef, kwargs: PyDict): PyValue[] {
  const cls = toolClassName(def.name);
  if (kwargs.has("data")) {
    throw new PyError(
      "TypeError",
      `tau_bench.envs.${domain}.tools.${def.name}.${cls}.invoke() got multiple values for ` +
        "keyword argument 'data'",
    );
  }
  for (const key of kwargs.keys()) {
    if (typeof key !== "string" || !def.params.includes(key)) {
      throw new PyError(
        "TypeError",
        `${cls}.invoke() got an unexpected keyword argument '${pyStr(key)}'`,
      );
    }
  }
  const missing = def.params.filter((p) => !kwargs.has(p));
  if (missing.length > 0) {
    const n = missing.length;
    throw new PyError(
      "TypeError",
      `${cls}.invoke() missing ${n} required positional argument${n === 1 ? "" : "s"}: ${
        quoteList(missing)
      }`,
    );
  }
  return def.params.map((p) => kwargs.get(p)!);
}

/**
 * Call a tool the way `Env.step` does: bind, run, and turn a Python exception into
 * `"Error: {e}"`. Returns `null` only where the reference tool returns `None`.
 */
export function invokeTool(
  domain: string,
  def: ToolDef,
  db: TauDb,
  kwargs: PyDict,
): string | null {
  try {
    return def.run(db, bindArguments(domain, def, kwargs));
  } catch (err) {
    if (err instanceof PyError) return `Error: ${err.message}`;
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return "Error: maximum recursion depth exceeded";
    }
    throw err;
  }
}
