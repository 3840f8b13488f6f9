/**
 * Python-compatible JSON: `json.dumps` with its default options and a lossless
 * `json.loads` that keeps int vs float and the key order of objects.
 * @module
 */
import { floatRepr, pyRepr } from "./py_repr.ts";
import { PyDict, PyOpaque, PySet, PyTuple, pyTypeName, type PyValue } from "./py_value.ts";

/** Options for {@linkcode pyJsonDumps}. */
export interface PyJsonDumpsOptions {
  /**
   * Escape every non-ASCII character as `\uXXXX`.
   * @default {true}
   */
  ensureAscii?: boolean;
}

function jsonString(s: string, ensureAscii: boolean): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0x7f || !ensureAscii)) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      default:
        out += "\\u" + c.toString(16).padStart(4, "0");
    }
  }
  return out + s.slice(start) + '"';
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return floatRepr(x);
}

function dumpValue(v: PyValue, ensureAscii: boolean): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "number":
      return jsonFloat(v);
    case "string":
      return jsonString(v, ensureAscii);
  }
  if (Array.isArray(v) || v instanceof PyTuple) {
    const items = Array.isArray(v) ? v : v.items;
    return "[" + items.map((x) => dumpValue(x, ensureAscii)).join(", ") + "]";
  }
  if (v instanceof PyDict) {
    const parts: string[] = [];
    for (const [k, x] of v) {
      let key: string;
      if (typeof k === "string") key = k;
      else if (k === null) key = "null";
      else if (typeof k === "boolean") key = k ? "true" : "false";
      else if (typeof k === "bigint") key = k.toString();
      else if (typeof k === "number") key = jsonFloat(k);
      else {
        throw new TypeError(`keys must be str, int, float, bool or None, not ${pyTypeName(k)}`);
      }
      parts.push(`${jsonString(key, ensureAscii)}: ${dumpValue(x, ensureAscii)}`);
    }
    return "{" + parts.join(", ") + "}";
  }
  const name = v instanceof PySet ? "set" : (v as PyOpaque).typeName;
  throw new TypeError(`Object of type ${name} is not JSON serializable`);
}

/**
 * Python `json.dumps(v)` with default separators (`", "`, `": "`), `ensure_ascii=True`
 * and `allow_nan=True`. Throws `TypeError` (Python's message) for sets and opaque values.
 */
export function pyJsonDumps(v: PyValue, options: PyJsonDumpsOptions = {}): string {
  const { ensureAscii = true } = options;
  return dumpValue(v, ensureAscii);
}

/**
 * How the BFCL executor turns a method's return value into the observation string:
 * a str as is, a dict through `json.dumps` (falling back to `str()` when that fails),
 * anything else through `str()`.
 */
export function pyResultString(v: PyValue): string {
  if (typeof v === "string") return v;
  if (v instanceof PyDict) {
    try {
      return pyJsonDumps(v);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      return pyRepr(v);
    }
  }
  return pyRepr(v);
}

/** Options for {@linkcode parsePyJson}. */
export interface ParsePyJsonOptions {
  /**
   * Maximum nesting depth of arrays and objects.
   * @default {512}
   */
  maxDepth?: number;
}

/**
 * Python `json.loads(text)`, lossless: integers become `bigint`, numbers with a fraction or
 * exponent become `number`, objects become insertion-ordered {@linkcode PyDict}s. Accepts
 * `NaN`, `Infinity` and `-Infinity` like Python. Throws `SyntaxError` on malformed input.
 */
export function parsePyJson(text: string, options: ParsePyJsonOptions = {}): PyValue {
  const { maxDepth = 512 } = options;
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`Cannot parse JSON at offset ${pos}: ${what}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const str = (): string => {
    pos++; // opening quote
    let out = "";
    let start = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) fail("unterminated string");
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(start, pos);
        const e = text[pos + 1];
        pos += 2;
        switch (e) {
          case '"':
          case "\\":
          case "/":
            out += e;
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "u": {
            const hex = text.slice(pos, pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
            out += String.fromCharCode(parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            fail("bad escape");
        }
        start = pos;
      } else if (c < 0x20) fail("control character in string");
      else pos++;
    }
  };
  const num = (): PyValue => {
    const m = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
    m.lastIndex = pos;
    const r = m.exec(text);
    if (!r) return fail("unexpected character");
    pos += r[0].length;
    return r[1] === undefined && r[2] === undefined ? BigInt(r[0]) : Number(r[0]);
  };
  const value = (depth: number): PyValue => {
    ws();
    const c = text[pos];
    if (c === "{") {
      if (depth >= maxDepth) fail("too deeply nested");
      pos++;
      const d = new PyDict();
      ws();
      if (text[pos] === "}") {
        pos++;
        return d;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail("expected a string key");
        const k = str();
        ws();
        if (text[pos] !== ":") fail("expected ':'");
        pos++;
        d.set(k, value(depth + 1));
        ws();
        if (text[pos] === ",") pos++;
        else if (text[pos] === "}") {
          pos++;
          return d;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      if (depth >= maxDepth) fail("too deeply nested");
      pos++;
      const a: PyValue[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[pos] === ",") pos++;
        else if (text[pos] === "]") {
          pos++;
          return a;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    return num();
  };
  const result = value(0);
  ws();
  if (pos !== text.length) fail("extra data");
  return result;
}

const LITERALS: ReadonlyArray<readonly [string, PyValue]> = [
  ["true", true],
  ["false", false],
  ["null", null],
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
];
