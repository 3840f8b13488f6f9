/**
 * Render a parsed call back to BFCL syntax (`name(k=repr(v), ...)`).
 * @module
 */
import { parsePyJson, PyDict, pyRepr } from "@parlmt/pycompat";
import type { CallExpr, ParsedCallExpr } from "./call_parser.ts";

function renderExpr(e: CallExpr): string {
  switch (e.kind) {
    case "literal":
      return pyRepr(e.value);
    case "name":
      return e.id;
    case "call":
      return renderCall(e.call);
    case "list":
      return `[${e.items.map(renderExpr).join(", ")}]`;
    case "tuple":
      return e.items.length === 1
        ? `(${renderExpr(e.items[0]!)},)`
        : `(${e.items.map(renderExpr).join(", ")})`;
    case "set":
      return `{${e.items.map(renderExpr).join(", ")}}`;
    case "dict":
      return `{${e.entries.map(([k, v]) => `${renderExpr(k)}: ${renderExpr(v)}`).join(", ")}}`;
    case "neg":
      return `-${renderExpr(e.operand)}`;
    case "pos":
      return `+${renderExpr(e.operand)}`;
  }
}

/** `name(a, b, k=v)` with Python `repr` of literal values. */
export function renderCall(call: ParsedCallExpr): string {
  const parts = [
    ...call.args.map(renderExpr),
    ...call.kwargs.map(([k, v]) => `${k}=${renderExpr(v)}`),
  ];
  return `${call.name}(${parts.join(", ")})`;
}

/**
 * The BFCL source of a call whose arguments are a JSON object (an OpenAI `tool_calls` entry):
 * `name(key='v', n=1, x=1.0)`, values as Python literals with int vs float kept. Throws
 * SyntaxError for arguments that are not JSON and TypeError for ones that are not an object.
 */
export function callSourceFromJson(name: string, argumentsJson: string): string {
  const args = argumentsJson.trim() ? parsePyJson(argumentsJson) : new PyDict();
  if (!(args instanceof PyDict)) {
    throw new TypeError(`The arguments of "${name}" are not a JSON object`);
  }
  return `${name}(${[...args].map(([k, v]) => `${String(k)}=${pyRepr(v)}`).join(", ")})`;
}
