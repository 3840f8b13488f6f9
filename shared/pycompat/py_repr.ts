/**
 * Python `repr()` / `str()` of the value model, float `repr` and `%.Nf` formatting.
 * @module
 */
import { PyDict, PyOpaque, PySet, PyTuple, type PyValue } from "./py_value.ts";

/** Python `repr(x)` of a float: shortest round-trip digits, Python's notation rules. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant = "", expText = "0"] = x.toExponential().split("e");
  const exp = Number(expText);
  const sign = mant.startsWith("-") ? "-" : "";
  const digits = mant.replace("-", "").replace(".", "");
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
      return `${sign}${intPart}.${digits.slice(exp + 1) || "0"}`;
    }
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, "0");
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
}

/** Exact binary value of a finite double as `[numerator, log2 of denominator]` (value = n / 2^k). */
function exactBinary(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const neg = hi >>> 31 === 1;
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  if (neg) mant = -mant;
  if (exp >= 0) return [mant << BigInt(exp), 0];
  return [mant, -exp];
}

/**
 * Python `"%.{digits}f" % x`: rounds the exact binary value half-to-even (unlike
 * `Number.prototype.toFixed`, which rounds exact ties up). A negative `digits` rounds to
 * tens, hundreds, ... (as `round(x, -n)` does) and prints an integer.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const negative = x < 0 || Object.is(x, -0);
  const [num, k] = exactBinary(Math.abs(x));
  const scaled = digits >= 0 ? num * 10n ** BigInt(digits) : num;
  const den = (1n << BigInt(k)) * (digits < 0 ? 10n ** BigInt(-digits) : 1n);
  let q = scaled / den;
  const r2 = (scaled % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  let text = q.toString();
  if (digits > 0) {
    text = text.padStart(digits + 1, "0");
    text = `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  } else if (digits < 0 && q !== 0n) text += "0".repeat(-digits);
  return (negative ? "-" : "") + text;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python `repr(s)` of a str. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c < 0x7f) out += ch;
    else if (!NON_PRINTABLE.test(ch)) out += ch;
    else if (c <= 0xff) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c <= 0xffff) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += "\\U" + c.toString(16).padStart(8, "0");
  }
  return out + quote;
}

/** Python `repr(v)`. Sets print in insertion order (CPython's hash order is not reproduced). */
export function pyRepr(v: PyValue): string {
  if (v === null) return "None";
  switch (typeof v) {
    case "boolean":
      return v ? "True" : "False";
    case "bigint":
      return v.toString();
    case "number":
      return floatRepr(v);
    case "string":
      return strRepr(v);
  }
  if (Array.isArray(v)) return "[" + v.map((x) => pyRepr(x)).join(", ") + "]";
  if (v instanceof PyTuple) {
    const items = v.items.map((x) => pyRepr(x));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
  }
  if (v instanceof PyDict) {
    const parts: string[] = [];
    for (const [k, x] of v) parts.push(`${pyRepr(k)}: ${pyRepr(x)}`);
    return "{" + parts.join(", ") + "}";
  }
  if (v instanceof PySet) {
    if (v.size === 0) return "set()";
    return "{" + [...v].map((x) => pyRepr(x)).join(", ") + "}";
  }
  return (v as PyOpaque).repr;
}

/** Python `str(v)`: the string itself for a str, `repr` otherwise. */
export function pyStr(v: PyValue): string {
  return typeof v === "string" ? v : pyRepr(v);
}
