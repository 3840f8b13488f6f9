/**
 * The tool tables of both domains and the reference's `Env.step` for tool actions:
 * a known tool runs (exceptions become `"Error: {e}"`), anything else is `"Unknown action"`.
 * @module
 */
import { pyDeepCopy, PyDict } from "@parlmt/pycompat";
import { AIRLINE_TOOLS } from "./airline_tools.ts";
import type { Domain } from "./data.ts";
import type { TauDb } from "./db.ts";
import { RETAIL_TOOLS } from "./retail_tools.ts";
import { invokeTool, type ToolDef } from "./tool.ts";

/** The action name of a text reply to the user. */
export const RESPOND_ACTION_NAME = "respond";
/** Tools that end the episode (`terminate_tools`, the same in both domains). */
export const TERMINATE_TOOLS: readonly string[] = ["transfer_to_human_agents"];

const TABLES: Readonly<Record<Domain, ReadonlyMap<string, ToolDef>>> = {
  retail: new Map(RETAIL_TOOLS.map((t) => [t.name, t])),
  airline: new Map(AIRLINE_TOOLS.map((t) => [t.name, t])),
};

/** The tools of a domain by name, in the reference's order. */
export function domainTools(domain: Domain): ReadonlyMap<string, ToolDef> {
  return TABLES[domain];
}

/** What one tool action produced. */
export interface ToolOutcome {
  /** The observation; `null` where the reference tool returns `None` (a crash there). */
  readonly observation: string | null;
  /** Whether the action ends the episode (a terminate tool). */
  readonly terminal: boolean;
}

/**
 * Run a non-`respond` action on `db` like the reference's `Env.step`. The keyword arguments
 * are deep-copied first, so stored values never alias the caller's (spec §7.6).
 */
export function runToolAction(
  domain: Domain,
  db: TauDb,
  name: string,
  kwargs: PyDict,
): ToolOutcome {
  const def = TABLES[domain].get(name);
  if (def === undefined) return { observation: `Unknown action ${name}`, terminal: false };
  return {
    observation: invokeTool(domain, def, db, pyDeepCopy(kwargs)),
    terminal: TERMINATE_TOOLS.includes(name),
  };
}
