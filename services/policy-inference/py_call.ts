/**
 * BFCL Python-syntax calls to OpenAI tool calls: `name(key='v', n=[1, 2])` → name and a JSON
 * arguments object. Python literals only (str, int, float, True/False/None, list, tuple, dict);
 * nothing is evaluated. Positional arguments are not representable as JSON keywords and fail.
 */

/** A call as name and JSON-able keyword arguments. */
export interface JsonCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

/** Parses one call; throws a `SyntaxError` naming the offset on malformed text. */
export function parsePyCall(text: string): JsonCall {
  let i = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot parse call "${text.slice(0, 80)}": ${why} at offset ${i}`);
  };
  const ws = () => {
    while (text[i] === " " || text[i] === "\n" || text[i] === "\t") i++;
  };
  const ident = (dotted: boolean): string => {
    const re = dotted ? /[A-Za-z_][\w.]*/y : /[A-Za-z_]\w*/y;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) fail("expected a name");
    i += m![0].length;
    return m![0];
  };
  const value = (depth: number): unknown => {
    if (depth > 64) fail("nesting too deep");
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      let out = "";
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\") {
          const n = text[++i];
          out += n === "n" ? "\n" : n === "t" ? "\t" : n === "r" ? "\r" : n ?? "";
          i++;
        } else out += text[i++];
      }
      if (text[i] !== c) fail("unterminated string");
      i++;
      return out;
    }
    if (c === "[" || c === "(" || c === "{") {
      const close = c === "[" ? "]" : c === "(" ? ")" : "}";
      i++;
      const items: unknown[] = [];
      const dict: Record<string, unknown> = {};
      ws();
      while (text[i] !== close) {
        const v = value(depth + 1);
        ws();
        if (c === "{") {
          if (text[i] !== ":") fail("expected ':'");
          i++;
          dict[typeof v === "string" ? v : JSON.stringify(v)] = value(depth + 1);
          ws();
        } else items.push(v);
        if (text[i] === ",") {
          i++;
          ws();
        } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      i++;
      return c === "{" ? dict : items;
    }
    const m = /-?\d+(\.\d+)?([eE][+-]?\d+)?|True|False|None/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail("expected a literal");
    i += r[0].length;
    return r[0] === "True"
      ? true
      : r[0] === "False"
      ? false
      : r[0] === "None"
      ? null
      : Number(r[0]);
  };
  ws();
  const name = ident(true);
  ws();
  if (text[i] !== "(") fail("expected '('");
  i++;
  const args: Record<string, unknown> = {};
  ws();
  while (text[i] !== ")") {
    const key = ident(false);
    ws();
    if (text[i] !== "=") fail("expected '=' (positional arguments are not supported)");
    i++;
    args[key] = value(0);
    ws();
    if (text[i] === ",") {
      i++;
      ws();
    } else if (text[i] !== ")") fail("expected ',' or ')'");
  }
  i++;
  ws();
  if (i !== text.length) fail("unexpected text after the call");
  return { name, arguments: args };
}
