/**
 * The `calculate` tool of both domains: the reference runs
 * `str(round(float(eval(expression, {"__builtins__": None}, {})), 2))` on expressions made of
 * `0123456789+-*\/(). `. This is a parser and evaluator for exactly that subset of Python 3.11
 * (ints of any size, floats, `+ - * / // **`, unary signs, parentheses, `()`, `...` and calls),
 * reproducing CPython's results and error texts, including which syntax error wins. Nothing is
 * ever `eval`'d.
 * @module
 */
import {
  floatRepr,
  pyAdd,
  PyError,
  pyFloat,
  pyMul,
  pyNeg,
  PyOpaque,
  pyPow,
  pyRound,
  pyStr,
  pySub,
  pyTrueDiv,
  PyTuple,
  pyTypeName,
  type PyValue,
} from "@parlmt/pycompat";

const ALLOWED = new Set("0123456789+-*/(). ");
const ELLIPSIS = new PyOpaque("ellipsis", "Ellipsis");
const EMPTY_TUPLE = new PyTuple([]);

/** The observation of `calculate(expression)` (`expression` is already known to be a str). */
export function calculate(expression: string): string {
  for (const ch of expression) {
    if (!ALLOWED.has(ch)) return "Error: invalid characters in expression";
  }
  try {
    const value = evaluate(parse(expression));
    return floatRepr(pyRound(pyFloat(value), 2n) as number);
  } catch (err) {
    if (err instanceof PyError) {
      if (err.message === "integer result too large for this environment") {
        // CPython would build the huge int and fail converting it (see QUIRKS.md).
        return "Error: int too large to convert to float";
      }
      return `Error: ${err.message}`;
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer (CPython's rules for this alphabet).

type Tok =
  | { kind: "num"; value: bigint | number; level: number }
  | { kind: "op"; op: string; level: number }
  | { kind: "end"; level: number }
  | { kind: "error"; message: string; level: number };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let level = 0;
  let i = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
  while (i < src.length) {
    const c = src[i]!;
    if (c === " ") {
      i++;
      continue;
    }
    if (isDigit(c) || (c === "." && isDigit(src[i + 1]))) {
      let j = i;
      while (isDigit(src[j])) j++;
      let isFloat = false;
      if (src[j] === ".") {
        isFloat = true;
        j++;
        while (isDigit(src[j])) j++;
      }
      const text = src.slice(i, j);
      if (!isFloat && text.length > 1 && text[0] === "0" && /[1-9]/.test(text)) {
        toks.push({
          kind: "error",
          message: "leading zeros in decimal integer literals are not permitted; " +
            "use an 0o prefix for octal integers",
          level,
        });
        return toks;
      }
      toks.push({ kind: "num", value: isFloat ? Number(text) : BigInt(text), level });
      i = j;
      continue;
    }
    if (c === "." && src[i + 1] === "." && src[i + 2] === ".") {
      toks.push({ kind: "op", op: "...", level });
      i += 3;
      continue;
    }
    if ((c === "*" || c === "/") && src[i + 1] === c) {
      toks.push({ kind: "op", op: c + c, level });
      i += 2;
      continue;
    }
    if (c === "(") level++;
    if (c === ")") {
      if (level === 0) {
        toks.push({ kind: "error", message: "unmatched ')'", level });
        return toks;
      }
      level--;
    }
    toks.push({ kind: "op", op: c, level });
    i++;
  }
  if (level > 0) toks.push({ kind: "error", message: "'(' was never closed", level });
  else toks.push({ kind: "end", level });
  return toks;
}

// ---------------------------------------------------------------------------------------------
// Parser: a recursive descent that fetches tokens in the same order as CPython's PEG parser,
// so the first tokenizer error it touches is the one CPython reports.

type Node =
  | { t: "num"; value: bigint | number }
  | { t: "const"; value: PyValue }
  | { t: "unary"; op: string; arg: Node }
  | { t: "bin"; op: string; left: Node; right: Node }
  | { t: "call"; callee: Node; arg: Node | null; star: "" | "*" | "**" };

class SyntaxFail extends Error {}

function syntaxError(message: string, line = 1): PyError {
  return new PyError("SyntaxError", `${message} (<string>, line ${line})`);
}

class Parser {
  readonly toks: Tok[];
  pos = 0;
  fetched = -1;
  secondPass = false;

  constructor(toks: Tok[]) {
    this.toks = toks;
  }

  peek(): Tok {
    const tok = this.toks[this.pos]!;
    if (this.pos > this.fetched) this.fetched = this.pos;
    if (tok.kind === "error") throw syntaxError(tok.message);
    return tok;
  }

  isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.op === op;
  }

  expectOp(op: string): void {
    if (!this.isOp(op)) throw new SyntaxFail();
    this.pos++;
  }

  // expression (with the second pass's "Perhaps you forgot a comma?" check)
  expression(): Node {
    if (this.secondPass) {
      const start = this.pos;
      try {
        this.sum();
        this.secondPass = false;
        try {
          this.sum();
        } finally {
          this.secondPass = true;
        }
        if (this.toks[this.pos - 1]!.level !== 0) {
          throw syntaxError("invalid syntax. Perhaps you forgot a comma?");
        }
      } catch (err) {
        if (!(err instanceof SyntaxFail)) throw err;
      }
      this.pos = start;
    }
    return this.sum();
  }

  sum(): Node {
    let left = this.term();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.op !== "+" && t.op !== "-")) return left;
      const save = this.pos;
      this.pos++;
      try {
        left = { t: "bin", op: t.op, left, right: this.term() };
      } catch (err) {
        if (!(err instanceof SyntaxFail)) throw err;
        this.pos = save;
        return left;
      }
    }
  }

  term(): Node {
    let left = this.factor();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || !["*", "/", "//"].includes(t.op)) return left;
      const save = this.pos;
      this.pos++;
      try {
        left = { t: "bin", op: t.op, left, right: this.factor() };
      } catch (err) {
        if (!(err instanceof SyntaxFail)) throw err;
        this.pos = save;
        return left;
      }
    }
  }

  factor(): Node {
    const t = this.peek();
    if (t.kind === "op" && (t.op === "+" || t.op === "-")) {
      this.pos++;
      return { t: "unary", op: t.op, arg: this.factor() };
    }
    return this.power();
  }

  power(): Node {
    const base = this.primary();
    if (!this.isOp("**")) return base;
    const save = this.pos;
    this.pos++;
    try {
      return { t: "bin", op: "**", left: base, right: this.factor() };
    } catch (err) {
      if (!(err instanceof SyntaxFail)) throw err;
      this.pos = save;
      return base;
    }
  }

  primary(): Node {
    let node = this.atom();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op") return node;
      if (t.op === ".") {
        // primary '.' NAME: look at the next token (never a NAME here).
        this.pos++;
        this.peek();
        this.pos--;
        return node;
      }
      if (t.op !== "(") return node;
      const save = this.pos;
      try {
        node = this.callTrailer(node);
      } catch (err) {
        if (!(err instanceof SyntaxFail)) throw err;
        this.pos = save;
        return node;
      }
    }
  }

  callTrailer(callee: Node): Node {
    this.expectOp("(");
    if (this.isOp(")")) {
      this.pos++;
      return { t: "call", callee, arg: null, star: "" };
    }
    let star: "" | "*" | "**" = "";
    if (this.isOp("*") || this.isOp("**")) {
      star = (this.peek() as { op: "*" | "**" }).op;
      this.pos++;
    }
    const arg = this.expression();
    this.expectOp(")");
    return { t: "call", callee, arg, star };
  }

  atom(): Node {
    const t = this.peek();
    if (t.kind === "num") {
      this.pos++;
      return { t: "num", value: t.value };
    }
    if (t.kind === "op" && t.op === "...") {
      this.pos++;
      return { t: "const", value: ELLIPSIS };
    }
    if (t.kind === "op" && t.op === "(") {
      this.pos++;
      if (this.isOp(")")) {
        this.pos++;
        return { t: "const", value: EMPTY_TUPLE };
      }
      const start = this.pos;
      try {
        const inner = this.expression();
        this.expectOp(")");
        return inner;
      } catch (err) {
        if (!(err instanceof SyntaxFail) || !this.secondPass) throw err;
      }
      // invalid_group: '(' starred_expression ')' / '(' '**' expression ')'
      this.pos = start;
      if (this.isOp("*") || this.isOp("**")) {
        const double = this.isOp("**");
        this.pos++;
        this.expression();
        this.expectOp(")");
        throw syntaxError(
          double
            ? "cannot use double starred expression here"
            : "cannot use starred expression here",
        );
      }
      throw new SyntaxFail();
    }
    throw new SyntaxFail();
  }

  file(): Node {
    const node = this.expression();
    if (this.peek().kind !== "end") throw new SyntaxFail();
    return node;
  }
}

function parse(expression: string): Node {
  const src = expression.replace(/^ +/, "");
  const toks = tokenize(src);
  const first = new Parser(toks);
  try {
    return first.file();
  } catch (err) {
    if (!(err instanceof SyntaxFail)) throw err;
  }
  const second = new Parser(toks);
  second.secondPass = true;
  second.fetched = first.fetched;
  let error: PyError;
  try {
    second.file();
    error = syntaxError("invalid syntax");
  } catch (err) {
    if (err instanceof SyntaxFail) {
      error = syntaxError("invalid syntax", src.length === 0 ? 0 : 1);
    } else if (err instanceof PyError && toks[second.fetched]?.kind === "error") {
      return rethrow(err);
    } else if (err instanceof PyError) error = err;
    else throw err;
  }
  // CPython then tokenizes the rest of the source; a tokenizer error found there wins.
  const last = toks[toks.length - 1]!;
  if (last.kind === "error" && last.message !== "'(' was never closed") {
    throw syntaxError(last.message);
  }
  throw error;
}

function rethrow(err: PyError): never {
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

function evaluate(node: Node): PyValue {
  switch (node.t) {
    case "num":
      return node.value;
    case "const":
      return node.value;
    case "unary": {
      const v = evaluate(node.arg);
      if (typeof v === "bigint" || typeof v === "number") {
        return node.op === "-" ? pyNeg(v) : v;
      }
      throw new PyError("TypeError", `bad operand type for unary ${node.op}: '${pyTypeName(v)}'`);
    }
    case "bin": {
      const a = evaluate(node.left);
      const b = evaluate(node.right);
      return binary(node.op, a, b);
    }
    case "call": {
      const callee = evaluate(node.callee);
      if (node.arg !== null) {
        const arg = evaluate(node.arg);
        if (node.star === "*" && !(arg instanceof PyTuple)) {
          throw new PyError(
            "TypeError",
            `${pyStr(callee)} argument after * must be an iterable, not ${pyTypeName(arg)}`,
          );
        }
        if (node.star === "**") {
          throw new PyError(
            "TypeError",
            `${pyStr(callee)} argument after ** must be a mapping, not ${pyTypeName(arg)}`,
          );
        }
      }
      throw new PyError("TypeError", `'${pyTypeName(callee)}' object is not callable`);
    }
  }
}

function binary(op: string, a: PyValue, b: PyValue): PyValue {
  const tuples = a instanceof PyTuple || b instanceof PyTuple;
  switch (op) {
    case "+":
      if (a instanceof PyTuple && !(b instanceof PyTuple)) {
        throw new PyError(
          "TypeError",
          `can only concatenate tuple (not "${pyTypeName(b)}") to tuple`,
        );
      }
      return pyAdd(a, b);
    case "-":
      return pySub(a, b);
    case "*":
      if (tuples) {
        const other = a instanceof PyTuple ? b : a;
        if (typeof other === "bigint" || typeof other === "boolean") return EMPTY_TUPLE;
        throw new PyError(
          "TypeError",
          `can't multiply sequence by non-int of type '${pyTypeName(other)}'`,
        );
      }
      return pyMul(a, b);
    case "/":
      if (typeof a === "bigint" && typeof b === "bigint") return intTrueDiv(a, b);
      return pyTrueDiv(a, b);
    case "//":
      return floorDiv(a, b);
    default:
      return pyPow(a, b);
  }
}

function floorDiv(a: PyValue, b: PyValue): PyValue {
  if (typeof a === "bigint" && typeof b === "bigint") {
    if (b === 0n) throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
    const q = a / b;
    return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q;
  }
  if (
    (typeof a === "bigint" || typeof a === "number") &&
    (typeof b === "bigint" || typeof b === "number")
  ) {
    const x = pyFloat(a);
    const y = pyFloat(b);
    if (y === 0) throw new PyError("ZeroDivisionError", "float floor division by zero");
    // CPython's float_floor_div.
    let mod = x % y;
    let div = (x - mod) / y;
    if (mod) {
      if ((y < 0) !== (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    }
    let floordiv: number;
    if (div) {
      floordiv = Math.floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    } else floordiv = Math.sign(x / y) < 0 || Object.is(x / y, -0) ? -0 : 0;
    return floordiv;
  }
  throw new PyError(
    "TypeError",
    `unsupported operand type(s) for //: '${pyTypeName(a)}' and '${pyTypeName(b)}'`,
  );
}

/** Python `int / int`: the correctly rounded quotient, even for ints beyond 2**53 or 1e308. */
function intTrueDiv(a: bigint, b: bigint): number {
  if (b === 0n) throw new PyError("ZeroDivisionError", "division by zero");
  const limit = 1n << 53n;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  if (abs(a) <= limit && abs(b) <= limit) return Number(a) / Number(b);
  const negative = (a < 0n) !== (b < 0n);
  const x = abs(a);
  const y = abs(b);
  if (x === 0n) return negative ? -0 : 0;
  // Scale so the integer quotient has at least 64 significant bits, keep a sticky bit.
  const k = 64 - (x.toString(2).length - y.toString(2).length);
  const num = k >= 0 ? x << BigInt(k) : x;
  const den = k >= 0 ? y : y << BigInt(-k);
  const q = num / den;
  const sticky = num % den === 0n ? 0n : 1n;
  const mantissa = Number((q << 1n) | sticky);
  const result = mantissa * Math.pow(2, -k - 1);
  if (!Number.isFinite(result)) {
    throw new PyError("OverflowError", "integer division result too large for a float");
  }
  return negative ? -result : result;
}
