/**
 * Validation of inline τ-bench tasks (tasks not in the vendored lists). A task may be given as
 * JSON text (parsed with Python's types: `250.0` stays a float), as a `PyDict`, or as a plain
 * object (where integral numbers become ints). Errors are `TypeError`s that name the field.
 * @module
 */
import { parsePyJson, PyDict, type PyValue } from "@parlmt/pycompat";
import type { TauAction, TauTask } from "./data.ts";

/** Size limits for inline tasks. */
export const INLINE_TASK_LIMITS = {
  /** Maximum characters of the instruction. */
  maxInstructionChars: 100_000,
  /** Maximum number of gold actions. */
  maxActions: 1_000,
  /** Maximum number of output strings. */
  maxOutputs: 100,
  /** Maximum characters of the JSON text form. */
  maxJsonChars: 5_000_000,
} as const;

/** Convert plain JSON-like JS data to the Python value model (ints for integral numbers). */
export function toPyValue(v: unknown, field = "value"): PyValue {
  if (v === null || typeof v === "boolean" || typeof v === "string" || typeof v === "bigint") {
    return v;
  }
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x, i) => toPyValue(x, `${field}[${i}]`));
  if (v instanceof PyDict) return v;
  if (typeof v === "object" && v !== undefined) {
    return new PyDict(
      Object.entries(v).map(([k, x]) => [k, toPyValue(x, `${field}.${k}`)] as const),
    );
  }
  throw new TypeError(`Invalid task: field "${field}" has an unsupported type ${typeof v}`);
}

function fail(field: string, what: string): never {
  throw new TypeError(`Invalid task: field "${field}" ${what}`);
}

/** Validate an inline task and convert it to a {@linkcode TauTask}. */
export function parseInlineTask(input: unknown): TauTask {
  let value: PyValue;
  if (typeof input === "string") {
    if (input.length > INLINE_TASK_LIMITS.maxJsonChars) {
      fail("task", `must be at most ${INLINE_TASK_LIMITS.maxJsonChars} characters of JSON`);
    }
    try {
      value = parsePyJson(input);
    } catch (err) {
      throw new TypeError(`Invalid task: not valid JSON (${(err as Error).message})`, {
        cause: err,
      });
    }
  } else value = toPyValue(input, "task");
  if (!(value instanceof PyDict)) fail("task", "must be an object");
  const userId = value.get("user_id");
  if (typeof userId !== "string") fail("user_id", "must be a string");
  const instruction = value.get("instruction");
  if (typeof instruction !== "string" || instruction.length === 0) {
    fail("instruction", "must be a non-empty string");
  }
  if (instruction.length > INLINE_TASK_LIMITS.maxInstructionChars) {
    fail("instruction", `must be at most ${INLINE_TASK_LIMITS.maxInstructionChars} characters`);
  }
  const actions = value.get("actions") ?? [];
  if (!Array.isArray(actions)) fail("actions", "must be a list");
  if (actions.length > INLINE_TASK_LIMITS.maxActions) {
    fail("actions", `must have at most ${INLINE_TASK_LIMITS.maxActions} entries`);
  }
  const parsedActions: TauAction[] = actions.map((a, i) => {
    if (!(a instanceof PyDict)) fail(`actions[${i}]`, "must be an object");
    const name = a.get("name");
    if (typeof name !== "string" || name.length === 0) {
      fail(`actions[${i}].name`, "must be a non-empty string");
    }
    const kwargs = a.get("kwargs") ?? new PyDict();
    if (!(kwargs instanceof PyDict)) fail(`actions[${i}].kwargs`, "must be an object");
    return { name, kwargs };
  });
  const outputs = value.get("outputs") ?? [];
  if (!Array.isArray(outputs)) fail("outputs", "must be a list of strings");
  if (outputs.length > INLINE_TASK_LIMITS.maxOutputs) {
    fail("outputs", `must have at most ${INLINE_TASK_LIMITS.maxOutputs} entries`);
  }
  outputs.forEach((o, i) => {
    if (typeof o !== "string") fail(`outputs[${i}]`, "must be a string");
  });
  return { userId, instruction, actions: parsedActions, outputs: outputs as string[] };
}
