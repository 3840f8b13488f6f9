/**
 * A parser for BFCL's Python-call syntax (`cd(folder='document')`, `[ls(), sort('a.txt')]`).
 * It accepts Python literals only (str with all escapes, int, float, complex, bool, None,
 * list, tuple, dict, set, unary signs) plus bare names and nested calls, which stay
 * unevaluated in the tree. Nothing is ever evaluated here.
 * @module
 */
import { PyDict, PyOpaque, PySet, PyTuple, type PyValue } from "@parlmt/pycompat";
import { floatRepr, isPyKey, pyNeg } from "@parlmt/pycompat";

/** An argument expression: a literal value, or something only the executor can resolve. */
export type CallExpr =
  | { readonly kind: "literal"; readonly value: PyValue }
  | { readonly kind: "name"; readonly id: string }
  | { readonly kind: "call"; readonly call: ParsedCallExpr }
  | { readonly kind: "list" | "tuple" | "set"; readonly items: readonly CallExpr[] }
  | { readonly kind: "dict"; readonly entries: readonly (readonly [CallExpr, CallExpr])[] }
  | { readonly kind: "neg" | "pos"; readonly operand: CallExpr };

/** One parsed call `name(args..., key=value...)`; `name` may be dotted (`a.b`). */
export interface ParsedCallExpr {
  /** The called name as written. */
  readonly name: string;
  /** Positional argument expressions in order. */
  readonly args: readonly CallExpr[];
  /** Keyword arguments in order. */
  readonly kwargs: readonly (readonly [string, CallExpr])[];
}

/** Options for {@linkcode parseCall} and {@linkcode parseCalls}. */
export interface ParseCallOptions {
  /**
   * Maximum input length in UTF-16 code units.
   * @default {1_000_000}
   */
  maxLength?: number;
  /**
   * Maximum nesting depth of brackets and calls.
   * @default {100}
   */
  maxDepth?: number;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER =
  /(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?\.?(?:\d(?:_?\d)*)?(?:[eE][-+]?\d(?:_?\d)*)?)([jJ])?/y;
const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\n": "",
};

class Parser {
  readonly #text: string;
  readonly #maxDepth: number;
  #pos = 0;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
  }

  fail(what: string): never {
    const shown = this.#text.length > 80 ? this.#text.slice(0, 77) + "..." : this.#text;
    throw new SyntaxError(`Cannot parse call "${shown}": ${what} at offset ${this.#pos}`);
  }

  ws(): void {
    const t = this.#text;
    for (;;) {
      const c = t[this.#pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") this.#pos++;
      else if (c === "\\" && t[this.#pos + 1] === "\n") this.#pos += 2;
      else if (c === "#") {
        while (this.#pos < t.length && t[this.#pos] !== "\n") this.#pos++;
      } else return;
    }
  }

  peek(): string | undefined {
    return this.#text[this.#pos];
  }

  eat(ch: string): boolean {
    this.ws();
    if (this.#text[this.#pos] === ch) {
      this.#pos++;
      return true;
    }
    return false;
  }

  expect(ch: string): void {
    if (!this.eat(ch)) this.fail(this.atEnd() ? "unexpected end of input" : `expected '${ch}'`);
  }

  atEnd(): boolean {
    this.ws();
    return this.#pos >= this.#text.length;
  }

  ident(): string | undefined {
    IDENT.lastIndex = this.#pos;
    const m = IDENT.exec(this.#text);
    if (!m) return undefined;
    this.#pos += m[0].length;
    return m[0];
  }

  dottedName(): string {
    this.ws();
    let name = this.ident();
    if (name === undefined) {
      this.fail(this.atEnd() ? "unexpected end of input" : "expected a function name");
    }
    for (;;) {
      this.ws();
      if (this.peek() !== ".") return name;
      this.#pos++;
      this.ws();
      const part = this.ident();
      if (part === undefined) this.fail("expected a name after '.'");
      name += "." + part;
    }
  }

  call(depth: number): ParsedCallExpr {
    const name = this.dottedName();
    this.expect("(");
    return this.callRest(name, depth);
  }

  callRest(name: string, depth: number): ParsedCallExpr {
    if (depth > this.#maxDepth) this.fail("too deeply nested");
    const args: CallExpr[] = [];
    const kwargs: [string, CallExpr][] = [];
    while (!this.eat(")")) {
      this.ws();
      if (this.peek() === "*") this.fail("argument unpacking is not supported");
      const save = this.#pos;
      const id = this.ident();
      this.ws();
      if (id !== undefined && this.peek() === "=" && this.#text[this.#pos + 1] !== "=") {
        this.#pos++;
        if (kwargs.some(([k]) => k === id)) this.fail(`keyword argument repeated: ${id}`);
        kwargs.push([id, this.expr(depth + 1)]);
      } else {
        this.#pos = save;
        if (kwargs.length > 0) this.fail("positional argument follows keyword argument");
        args.push(this.expr(depth + 1));
      }
      if (!this.eat(",")) {
        this.expect(")");
        break;
      }
    }
    return { name, args, kwargs };
  }

  seq(close: string, depth: number): CallExpr[] {
    const items: CallExpr[] = [];
    while (!this.eat(close)) {
      items.push(this.expr(depth + 1));
      if (!this.eat(",")) {
        this.expect(close);
        break;
      }
    }
    return items;
  }

  expr(depth: number): CallExpr {
    if (depth > this.#maxDepth) this.fail("too deeply nested");
    this.ws();
    const c = this.peek();
    if (c === undefined) this.fail("unexpected end of input");
    if (c === "-" || c === "+") {
      this.#pos++;
      const operand = this.expr(depth + 1);
      return fold({ kind: c === "-" ? "neg" : "pos", operand });
    }
    if (c === "[") {
      this.#pos++;
      return fold({ kind: "list", items: this.seq("]", depth) });
    }
    if (c === "(") {
      this.#pos++;
      if (this.eat(")")) return { kind: "literal", value: new PyTuple([]) };
      const first = this.expr(depth + 1);
      if (this.eat(")")) return first;
      this.expect(",");
      return fold({ kind: "tuple", items: [first, ...this.seq(")", depth)] });
    }
    if (c === "{") {
      this.#pos++;
      if (this.eat("}")) return { kind: "literal", value: new PyDict() };
      const first = this.expr(depth + 1);
      if (this.eat(":")) {
        const entries: [CallExpr, CallExpr][] = [[first, this.expr(depth + 1)]];
        while (this.eat(",")) {
          if (this.eat("}")) return fold({ kind: "dict", entries });
          const k = this.expr(depth + 1);
          this.expect(":");
          entries.push([k, this.expr(depth + 1)]);
        }
        this.expect("}");
        return fold({ kind: "dict", entries });
      }
      if (this.eat("}")) return fold({ kind: "set", items: [first] });
      this.expect(",");
      return fold({ kind: "set", items: [first, ...this.seq("}", depth)] });
    }
    if (/[0-9.]/.test(c)) return { kind: "literal", value: this.number() };
    const strStart = /^([rRuUbBfF]{0,2})['"]/.exec(this.#text.slice(this.#pos, this.#pos + 3));
    if (strStart) {
      let s = this.string(strStart[1]!);
      for (;;) {
        this.ws();
        const next = /^([rRuU]{0,1})['"]/.exec(this.#text.slice(this.#pos, this.#pos + 2));
        if (!next) break;
        s += this.string(next[1]!);
      }
      return { kind: "literal", value: s };
    }
    const name = this.ident();
    if (name === undefined) this.fail(`unexpected character '${c}'`);
    if (name === "True") return { kind: "literal", value: true };
    if (name === "False") return { kind: "literal", value: false };
    if (name === "None") return { kind: "literal", value: null };
    let dotted = name;
    for (;;) {
      this.ws();
      if (this.peek() === ".") {
        this.#pos++;
        this.ws();
        const part = this.ident();
        if (part === undefined) this.fail("expected a name after '.'");
        dotted += "." + part;
      } else if (this.peek() === "(") {
        this.#pos++;
        return { kind: "call", call: this.callRest(dotted, depth + 1) };
      } else break;
    }
    if (dotted.includes(".")) this.fail("attribute access is not supported");
    return { kind: "name", id: dotted };
  }

  number(): PyValue {
    NUMBER.lastIndex = this.#pos;
    const m = NUMBER.exec(this.#text);
    if (!m || m[1] === "" || m[1] === ".") this.fail("invalid number");
    this.#pos += m[0].length;
    const raw = m[1]!.replaceAll("_", "");
    if (/[A-Za-z0-9_]/.test(this.peek() ?? "")) this.fail("invalid number");
    let value: number | bigint;
    if (/^0[xXoObB]/.test(raw)) value = BigInt(raw);
    else if (/[.eE]/.test(raw)) value = Number(raw);
    else {
      if (/^0+[1-9]/.test(raw)) {
        this.fail("leading zeros in decimal integer literals are not permitted");
      }
      value = BigInt(raw);
    }
    if (m[2]) {
      const im = Number(value);
      const r = floatRepr(im);
      return new PyOpaque("complex", `${r.endsWith(".0") ? r.slice(0, -2) : r}j`);
    }
    return value;
  }

  string(prefix: string): string {
    const p = prefix.toLowerCase();
    if (p.includes("f")) this.fail("f-strings are not supported");
    if (p.includes("b")) this.fail("bytes literals are not supported");
    const raw = p.includes("r");
    this.#pos += prefix.length;
    const t = this.#text;
    const q = t[this.#pos]!;
    const triple = t.startsWith(q.repeat(3), this.#pos);
    const close = triple ? q.repeat(3) : q;
    this.#pos += close.length;
    let out = "";
    for (;;) {
      if (this.#pos >= t.length) this.fail("unterminated string literal");
      if (t.startsWith(close, this.#pos)) {
        this.#pos += close.length;
        return out;
      }
      const ch = t[this.#pos]!;
      if (ch === "\n" && !triple) this.fail("unterminated string literal");
      if (ch !== "\\") {
        const next = t.indexOf("\\", this.#pos);
        const end = t.indexOf(close, this.#pos);
        const nl = triple ? -1 : t.indexOf("\n", this.#pos);
        let stop = t.length;
        for (const x of [next, end, nl]) if (x >= 0 && x < stop) stop = x;
        out += t.slice(this.#pos, Math.max(stop, this.#pos + 1));
        this.#pos = Math.max(stop, this.#pos + 1);
        continue;
      }
      const e = t[this.#pos + 1];
      if (e === undefined) this.fail("unterminated string literal");
      if (raw) {
        out += "\\" + e;
        this.#pos += 2;
        continue;
      }
      this.#pos += 2;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
      } else if (/[0-7]/.test(e)) {
        let digits = e;
        while (digits.length < 3 && /[0-7]/.test(t[this.#pos] ?? "")) digits += t[this.#pos++];
        out += String.fromCodePoint(parseInt(digits, 8));
      } else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = t.slice(this.#pos, this.#pos + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`truncated \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) this.fail("illegal Unicode character");
        out += String.fromCodePoint(cp);
        this.#pos += n;
      } else if (e === "N") {
        this.fail("\\N{...} escapes are not supported");
      } else {
        out += "\\" + e; // Python keeps unknown escapes (with a DeprecationWarning).
      }
    }
  }
}

function isLiteral(e: CallExpr): e is { kind: "literal"; value: PyValue } {
  return e.kind === "literal";
}

/** Fold a container or sign whose operands are all literals into one literal. */
function fold(e: CallExpr): CallExpr {
  switch (e.kind) {
    case "neg":
    case "pos": {
      if (!isLiteral(e.operand)) return e;
      const v = e.operand.value;
      if (typeof v === "string" || v === null || typeof v === "object") {
        return e; // Python raises "bad operand type"; the executor reports it.
      }
      return {
        kind: "literal",
        value: e.kind === "neg" ? pyNeg(v) : typeof v === "boolean" ? BigInt(v) : v,
      };
    }
    case "list":
    case "tuple":
    case "set": {
      if (!e.items.every(isLiteral)) return e;
      const values = e.items.map((x) => (x as { value: PyValue }).value);
      if (e.kind === "list") return { kind: "literal", value: values };
      if (e.kind === "tuple") return { kind: "literal", value: new PyTuple(values) };
      if (!values.every(isPyKey)) return e;
      return { kind: "literal", value: new PySet(values as never[]) };
    }
    case "dict": {
      if (!e.entries.every(([k, v]) => isLiteral(k) && isLiteral(v))) return e;
      const d = new PyDict();
      for (const [k, v] of e.entries) {
        const key = (k as { value: PyValue }).value;
        if (!isPyKey(key)) return e;
        d.set(key, (v as { value: PyValue }).value);
      }
      return { kind: "literal", value: d };
    }
    default:
      return e;
  }
}

/**
 * Parse one call such as `mv(source='a.txt', destination='b')`. Throws `SyntaxError`
 * (`Cannot parse call "x(": unexpected end of input at offset 2`) on malformed text.
 */
export function parseCall(text: string, options: ParseCallOptions = {}): ParsedCallExpr {
  const { maxLength = 1_000_000, maxDepth = 100 } = options;
  if (typeof text !== "string") throw new TypeError("Cannot parse call: the text must be a string");
  if (text.length > maxLength) {
    throw new RangeError(
      `Cannot parse call: text of ${text.length} characters exceeds ${maxLength}`,
    );
  }
  const p = new Parser(text, maxDepth);
  const call = p.call(0);
  if (!p.atEnd()) p.fail("unexpected text after the call");
  return call;
}

/**
 * Parse a model step: either a Python list of calls (`[cd(folder='a'), ls()]`) or
 * comma-separated calls without brackets. An empty list gives `[]`.
 */
export function parseCalls(text: string, options: ParseCallOptions = {}): ParsedCallExpr[] {
  const { maxLength = 1_000_000, maxDepth = 100 } = options;
  if (typeof text !== "string") {
    throw new TypeError("Cannot parse calls: the text must be a string");
  }
  if (text.length > maxLength) {
    throw new RangeError(
      `Cannot parse calls: text of ${text.length} characters exceeds ${maxLength}`,
    );
  }
  const p = new Parser(text, maxDepth);
  const bracketed = p.eat("[");
  const calls: ParsedCallExpr[] = [];
  for (;;) {
    if (bracketed && p.eat("]")) break;
    if (!bracketed && p.atEnd()) break;
    calls.push(p.call(1));
    if (!p.eat(",")) {
      if (bracketed) p.expect("]");
      break;
    }
  }
  if (!p.atEnd()) p.fail("unexpected text after the calls");
  return calls;
}
