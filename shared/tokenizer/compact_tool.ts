/**
 * Compact tool docs for small models: the description cut to its own first sentence (BFCL
 * prefixes a class note before "Tool description: "), and parameters reduced to their types.
 * The synthesis service writes SFT samples with these, and the rollout actor sends the same
 * form to the policy, so training and rollouts see identical tool lists.
 */

/** A tool doc in the JSON-schema style. */
export interface ToolDocLike {
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

const MAX_DESCRIPTION_CHARS = 120;

/** The compact form of `doc`. */
export function compactToolDoc(
  doc: ToolDocLike,
): { name: string; description: string; parameters: Record<string, unknown> } {
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
