/**
 * Render a parsed call back to BFCL syntax (`name(k=repr(v), ...)`).
 * @module
 */
import { pyRepr } from "@parlmt/pycompat";
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
