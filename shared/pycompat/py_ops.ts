/**
 * Python operators and builtins on the value model, with Python's result types
 * (int op int stays int, `/` gives a float) and Python's exception texts.
 * @module
 */
import { PyError } from "./py_error.ts";
import { floatRepr, formatFixed, strRepr } from "./py_repr.ts";
import {
  compareNumbers,
  isPyKey,
  isPyNumber,
  PyDict,
  pyEquals,
  PyOpaque,
  PySet,
  PyTuple,
  pyTypeName,
  type PyValue,
} from "./py_value.ts";

/** A Python real number (`bool`, `int` or `float`). */
export type PyNumber = boolean | bigint | number;

/** Largest int result (in bits) that `pyPow`/`pyMul` will build before refusing. */
export const MAX_INT_BITS = 100_000;

function toBig(v: boolean | bigint): bigint {
  return typeof v === "boolean" ? (v ? 1n : 0n) : v;
}

/** Python `float(v)` for numbers (exact int → nearest double). */
export function toFloat(v: PyNumber): number {
  if (typeof v === "number") return v;
  const n = Number(toBig(v));
  if (!Number.isFinite(n)) throw new PyError("OverflowError", "int too large to convert to float");
  return n;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : (n < 0n ? -n : n).toString(2).length;
}

function checkSize(n: bigint): bigint {
  if (bitLength(n) > MAX_INT_BITS) {
    throw new PyError("OverflowError", "integer result too large for this environment");
  }
  return n;
}

function opError(op: string, a: PyValue, b: PyValue): PyError {
  return new PyError(
    "TypeError",
    `unsupported operand type(s) for ${op}: '${pyTypeName(a)}' and '${pyTypeName(b)}'`,
  );
}

function isIntLike(v: PyValue): v is boolean | bigint {
  return typeof v === "bigint" || typeof v === "boolean";
}

/** Python `a + b` */
export function pyAdd(a: PyValue, b: PyValue): PyValue {
  if (isIntLike(a) && isIntLike(b)) return checkSize(toBig(a) + toBig(b));
  if (isPyNumber(a) && isPyNumber(b)) return toFloat(a) + toFloat(b);
  if (typeof a === "string") {
    if (typeof b === "string") return a + b;
    throw new PyError("TypeError", `can only concatenate str (not "${pyTypeName(b)}") to str`);
  }
  if (Array.isArray(a)) {
    if (Array.isArray(b)) return [...a, ...b];
    throw new PyError("TypeError", `can only concatenate list (not "${pyTypeName(b)}") to list`);
  }
  if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
  throw opError("+", a, b);
}

/** Python `a - b` */
export function pySub(a: PyValue, b: PyValue): PyValue {
  if (isIntLike(a) && isIntLike(b)) return checkSize(toBig(a) - toBig(b));
  if (isPyNumber(a) && isPyNumber(b)) return toFloat(a) - toFloat(b);
  throw opError("-", a, b);
}

/** Python `a * b` (numbers only, plus `str * int` / `list * int` repetition). */
export function pyMul(a: PyValue, b: PyValue): PyValue {
  if (isIntLike(a) && isIntLike(b)) {
    const x = toBig(a);
    const y = toBig(b);
    if (bitLength(x) + bitLength(y) > MAX_INT_BITS + 1) {
      return checkSize(1n << BigInt(MAX_INT_BITS + 1));
    }
    return checkSize(x * y);
  }
  if (isPyNumber(a) && isPyNumber(b)) return toFloat(a) * toFloat(b);
  const seq = typeof a === "string" || Array.isArray(a) ? a : b;
  const times = seq === a ? b : a;
  if ((typeof seq === "string" || Array.isArray(seq)) && isIntLike(times)) {
    const n = Number(toBig(times));
    if (n <= 0) return typeof seq === "string" ? "" : [];
    if (seq.length * n > 10_000_000) throw new PyError("MemoryError", "");
    return typeof seq === "string" ? seq.repeat(n) : Array.from({ length: n }, () => seq).flat();
  }
  if (typeof a === "string" || Array.isArray(a) || typeof b === "string" || Array.isArray(b)) {
    const s = typeof a === "string" || Array.isArray(a) ? b : a;
    throw new PyError("TypeError", `can't multiply sequence by non-int of type '${pyTypeName(s)}'`);
  }
  throw opError("*", a, b);
}

/** Python `a / b` (always a float for numbers). */
export function pyTrueDiv(a: PyValue, b: PyValue): number {
  if (!isPyNumber(a) || !isPyNumber(b)) throw opError("/", a, b);
  if (compareNumbers(b, 0n) === 0) {
    throw new PyError(
      "ZeroDivisionError",
      typeof a === "number" || typeof b === "number"
        ? "float division by zero"
        : "division by zero",
    );
  }
  return toFloat(a) / toFloat(b);
}

/** Python `a % b` for numbers (the result takes the divisor's sign). */
export function pyMod(a: PyValue, b: PyValue): PyValue {
  if (isIntLike(a) && isIntLike(b)) {
    const x = toBig(a);
    const y = toBig(b);
    if (y === 0n) throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
    const r = x % y;
    return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r;
  }
  if (isPyNumber(a) && isPyNumber(b)) {
    const x = toFloat(a);
    const y = toFloat(b);
    if (y === 0) throw new PyError("ZeroDivisionError", "float modulo");
    let r = x % y;
    if (r !== 0 && (r < 0) !== (y < 0)) r += y;
    else if (r === 0) r = y < 0 ? -0 : 0;
    return r;
  }
  throw opError("%", a, b);
}

/** Python `-a` */
export function pyNeg(a: PyValue): PyValue {
  if (isIntLike(a)) return -toBig(a);
  if (typeof a === "number") return -a;
  throw new PyError("TypeError", `bad operand type for unary -: '${pyTypeName(a)}'`);
}

/** Python `abs(a)` */
export function pyAbs(a: PyValue): PyValue {
  if (isIntLike(a)) {
    const x = toBig(a);
    return x < 0n ? -x : x;
  }
  if (typeof a === "number") return Math.abs(a);
  throw new PyError("TypeError", `bad operand type for abs(): '${pyTypeName(a)}'`);
}

function complexRepr(re: number, im: number): string {
  const part = (x: number) => {
    const r = floatRepr(x);
    return r.endsWith(".0") ? r.slice(0, -2) : r;
  };
  const imText = part(im);
  const sign = imText.startsWith("-") || Number.isNaN(im) ? "" : "+";
  return `(${part(re)}${sign}${imText}j)`;
}

/** Python `base ** exponent` for numbers (big ints, floats, complex results as opaque values). */
export function pyPow(base: PyValue, exponent: PyValue): PyValue {
  if (!isPyNumber(base) || !isPyNumber(exponent)) throw opError("** or pow()", base, exponent);
  if (isIntLike(base) && isIntLike(exponent)) {
    const b = toBig(base);
    const e = toBig(exponent);
    if (e >= 0n) {
      const bits = bitLength(b);
      if (bits > 1 && Number(e) * (bits - 1) > MAX_INT_BITS) {
        throw new PyError("OverflowError", "integer result too large for this environment");
      }
      if (b === 0n || b === 1n) return e === 0n ? 1n : b;
      if (b === -1n) return e % 2n === 0n ? 1n : -1n;
      return b ** e;
    }
    if (b === 0n) {
      throw new PyError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
    }
  }
  const x = toFloat(base);
  const y = toFloat(exponent);
  if (x === 0 && y < 0) {
    throw new PyError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
  }
  if (x < 0 && !Number.isInteger(y) && Number.isFinite(y)) {
    const len = Math.pow(-x, y);
    const phase = Math.PI * y;
    return new PyOpaque("complex", complexRepr(len * Math.cos(phase), len * Math.sin(phase)));
  }
  const r = Math.pow(x, y);
  if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) {
    throw new PyError("OverflowError", "(34, 'Numerical result out of range')");
  }
  return r;
}

function roundFloat(x: number, nd: number): number {
  if (!Number.isFinite(x) || nd > 330) return x;
  if (nd < -330) return 0 * x;
  return Number(formatFixed(x, nd));
}

/** Python `round(number)` / `round(number, ndigits)`. */
export function pyRound(number: PyValue, ndigits: PyValue = null): PyValue {
  if (ndigits !== null && !isIntLike(ndigits)) {
    throw new PyError(
      "TypeError",
      `'${pyTypeName(ndigits)}' object cannot be interpreted as an integer`,
    );
  }
  if (isIntLike(number)) {
    const n = toBig(number);
    if (ndigits === null || toBig(ndigits) >= 0n) return n;
    const scale = 10n ** -toBig(ndigits);
    const abs = n < 0n ? -n : n;
    let q = abs / scale;
    const r = abs % scale;
    if (r * 2n > scale || (r * 2n === scale && q % 2n === 1n)) q += 1n;
    return (n < 0n ? -q : q) * scale;
  }
  if (typeof number === "number") {
    if (ndigits === null) {
      if (!Number.isFinite(number)) {
        throw new PyError(
          Number.isNaN(number) ? "ValueError" : "OverflowError",
          Number.isNaN(number)
            ? "cannot convert float NaN to integer"
            : "cannot convert float infinity to integer",
        );
      }
      return BigInt(formatFixed(number, 0));
    }
    return roundFloat(number, Number(toBig(ndigits)));
  }
  throw new PyError("TypeError", `type ${pyTypeName(number)} doesn't define __round__ method`);
}

const OP_SYMBOL = { lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

/** Compare two code-point sequences like Python's `str` ordering. */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const cx = a.codePointAt(i)!;
      const cy = b.codePointAt(i)!;
      return cx < cy ? -1 : 1;
    }
  }
  return a.length - b.length;
}

function order(a: PyValue, b: PyValue, op: keyof typeof OP_SYMBOL): number {
  if (isPyNumber(a) && isPyNumber(b)) return compareNumbers(a, b);
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return order(a[i]!, b[i]!, op);
    }
    return a.length - b.length;
  }
  throw new PyError(
    "TypeError",
    `'${OP_SYMBOL[op]}' not supported between instances of '${pyTypeName(a)}' and '${
      pyTypeName(b)
    }'`,
  );
}

/** Python `a < b` */
export function pyLt(a: PyValue, b: PyValue): boolean {
  return order(a, b, "lt") < 0;
}
/** Python `a <= b` */
export function pyLe(a: PyValue, b: PyValue): boolean {
  return order(a, b, "le") <= 0;
}
/** Python `a > b` */
export function pyGt(a: PyValue, b: PyValue): boolean {
  return order(a, b, "gt") > 0;
}
/** Python `a >= b` */
export function pyGe(a: PyValue, b: PyValue): boolean {
  return order(a, b, "ge") >= 0;
}

/** Python `sum(items, start)` (naive left-to-right, as in CPython ≤ 3.11). */
export function pySum(items: PyValue, start: PyValue = 0n): PyValue {
  let acc = start;
  for (const x of pyIter(items)) acc = pyAdd(acc, x);
  return acc;
}

/** Python `iter(v)` for the containers of the value model (strings yield code points). */
export function pyIter(v: PyValue): Iterable<PyValue> {
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return [...v];
  if (v instanceof PyTuple) return v.items;
  if (v instanceof PyDict) return v.keys();
  if (v instanceof PySet) return v.values();
  throw new PyError("TypeError", `'${pyTypeName(v)}' object is not iterable`);
}

/** Python `len(v)` */
export function pyLen(v: PyValue): number {
  if (typeof v === "string") {
    let n = 0;
    for (const _ of v) n++;
    return n;
  }
  if (Array.isArray(v)) return v.length;
  if (v instanceof PyTuple) return v.items.length;
  if (v instanceof PyDict || v instanceof PySet) return v.size;
  throw new PyError("TypeError", `object of type '${pyTypeName(v)}' has no len()`);
}

/** Python `item in container` */
export function pyContains(container: PyValue, item: PyValue): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") {
      throw new PyError(
        "TypeError",
        `'in <string>' requires string as left operand, not ${pyTypeName(item)}`,
      );
    }
    return container.includes(item);
  }
  if (container instanceof PyDict || container instanceof PySet) {
    if (!isPyKey(item)) throw new PyError("TypeError", `unhashable type: '${pyTypeName(item)}'`);
    return container.has(item);
  }
  if (Array.isArray(container)) return container.some((x) => pyEquals(x, item));
  if (container instanceof PyTuple) return container.items.some((x) => pyEquals(x, item));
  throw new PyError("TypeError", `argument of type '${pyTypeName(container)}' is not iterable`);
}

/** Python `float(v)` */
export function pyFloat(v: PyValue): number {
  if (isPyNumber(v)) return toFloat(v);
  if (typeof v === "string") {
    const t = v.trim().replace(/(?<=\d)_(?=\d)/g, "").toLowerCase();
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t)) return Number(t);
    const m = /^([-+]?)(inf|infinity|nan)$/.exec(t);
    if (m) return m[2] === "nan" ? NaN : m[1] === "-" ? -Infinity : Infinity;
    throw new PyError("ValueError", `could not convert string to float: ${strRepr(v)}`);
  }
  throw new PyError(
    "TypeError",
    `float() argument must be a string or a real number, not '${pyTypeName(v)}'`,
  );
}

/** Require a str (for a method call on it), else Python's AttributeError text. */
export function requireStr(v: PyValue, attribute: string): string {
  if (typeof v === "string") return v;
  throw new PyError("AttributeError", `'${pyTypeName(v)}' object has no attribute '${attribute}'`);
}

/** Python's `KeyError(key)`, whose `str()` is the key's repr. */
export function keyError(key: PyValue): PyError {
  return new PyError("KeyError", typeof key === "string" ? strRepr(key) : String(reprKey(key)));
}

function reprKey(key: PyValue): string {
  if (key === null) return "None";
  if (typeof key === "boolean") return key ? "True" : "False";
  if (typeof key === "number") return floatRepr(key);
  if (typeof key === "bigint") return key.toString();
  return pyTypeName(key);
}
