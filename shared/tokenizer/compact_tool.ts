/**
 * Compact tool docs for small models, in two styles:
 * - `brief`: the description cut to its own first sentence (BFCL prefixes a class note before
 *   "Tool description: "), parameters reduced to their types;
 * - `signature`: the name and the argument names only (no description, no types), for the
 *   built-in model's short context.
 * The synthesis service writes SFT samples with these, and the rollout actor sends the same
 * form to the policy, so training and rollouts see identical tool lists.
 */

/** A tool doc in the JSON-schema style. */
export interface ToolDocLike {
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** How much of a tool doc the policy sees: as written, `brief` or `signature`. */
export type ToolDocStyle = "full" | "brief" | "signature";

/** The styles, for config choices. */
export const TOOL_DOC_STYLES: readonly ToolDocStyle[] = Object.freeze([
  "full",
  "brief",
  "signature",
]);

const MAX_DESCRIPTION_CHARS = 120;

/** `doc` in `style` (default `brief`); `full` returns it unchanged. */
export function compactToolDoc(
  doc: ToolDocLike,
  style: ToolDocStyle = "brief",
): { name: string; description: string; parameters: Record<string, unknown> } {
  if (style === "full") {
    return { name: doc.name, description: doc.description, parameters: { ...doc.parameters } };
  }
  if (style === "signature") {
    const props = (doc.parameters.properties ?? {}) as Record<string, unknown>;
    const properties = Object.fromEntries(Object.keys(props).map((k) => [k, {}]));
    return { name: doc.name, description: "", parameters: { type: "dict", properties } };
  }
  const own = doc.description.split("Tool description: ").pop() ?? "";
  const first = own.split(/(?<=\.)\s/)[0]!.slice(0, MAX_DESCRIPTION_CHARS);
  const props = (doc.parameters.properties ?? {}) as Record<string, { type?: string }>;
  const parameters: Record<string, unknown> = { type: "dict", properties: {} };
  for (const [k, v] of Object.entries(props)) {
    (parameters.properties as Record<string, unknown>)[k] = { type: v?.type ?? "string" };
  }
  if (Array.isArray(doc.parameters.required)) parameters.required = doc.parameters.required;
  return { name: doc.name, description: first, parameters };
}
