/**
 * Private helpers: the few Python expressions the τ-bench tools evaluate on agent-supplied
 * values (`d[k]`, `x in d`, `l.count(x)`, `sorted(l)`, `s[-2:]`, `int(s)`, `max(a, b)`), with
 * Python's results and exception texts. Everything else comes from `@parlmt/pycompat`.
 * @module
 */
import {
  isPyKey,
  keyError,
  pyAdd,
  pyContains,
  PyDict,
  pyEquals,
  PyError,
  pyGt,
  pyIter,
  pyLt,
  pySub,
  PyTuple,
  pyTypeName,
  type PyValue,
  strRepr,
} from "@parlmt/pycompat";

/** Python `obj[key]` for the value model (dicts, lists, str), with Python's exceptions. */
export function getItem(obj: PyValue, key: PyValue): PyValue {
  if (obj instanceof PyDict) {
    if (!isPyKey(key)) throw new PyError("TypeError", `unhashable type: '${pyTypeName(key)}'`);
    const v = obj.get(key);
    if (v === undefined) throw keyError(key);
    return v;
  }
  if (Array.isArray(obj) || typeof obj === "string" || obj instanceof PyTuple) {
    const kind = Array.isArray(obj) ? "list" : obj instanceof PyTuple ? "tuple" : "string";
    if (typeof key !== "bigint" && typeof key !== "boolean") {
      throw new PyError(
        "TypeError",
        kind === "string"
          ? `string indices must be integers, not '${pyTypeName(key)}'`
          : `${kind} indices must be integers or slices, not ${pyTypeName(key)}`,
      );
    }
    const items: readonly PyValue[] = typeof obj === "string"
      ? [...obj]
      : Array.isArray(obj)
      ? obj
      : obj.items;
    let i = typeof key === "boolean" ? (key ? 1 : 0) : Number(key);
    if (i < 0) i += items.length;
    if (i < 0 || i >= items.length) {
      throw new PyError("IndexError", `${kind} index out of range`);
    }
    return items[i]!;
  }
  throw new PyError("TypeError", `'${pyTypeName(obj)}' object is not subscriptable`);
}

/** Python `obj[key]` where `obj` is known to be a dict (the database's own records). */
export function getDict(obj: PyValue, key: PyValue): PyDict {
  return getItem(obj, key) as PyDict;
}

/** Python `obj[start:]` for str and list (negative starts count from the end). */
export function sliceFrom(obj: PyValue, start: number): PyValue {
  if (typeof obj === "string") return [...obj].slice(start).join("");
  if (Array.isArray(obj)) return obj.slice(start);
  if (obj instanceof PyTuple) return new PyTuple(obj.items.slice(start));
  if (obj instanceof PyDict) throw new PyError("TypeError", "unhashable type: 'slice'");
  throw new PyError("TypeError", `'${pyTypeName(obj)}' object is not subscriptable`);
}

/** Python `seq.count(x)` for list and str. */
export function count(seq: PyValue, x: PyValue): number {
  if (Array.isArray(seq)) return seq.filter((v) => pyEquals(v, x)).length;
  if (typeof seq === "string") {
    if (typeof x !== "string") {
      throw new PyError("TypeError", `must be str, not ${pyTypeName(x)}`);
    }
    if (x === "") return [...seq].length + 1;
    return seq.split(x).length - 1;
  }
  if (seq instanceof PyTuple) return seq.items.filter((v) => pyEquals(v, x)).length;
  throw new PyError("AttributeError", `'${pyTypeName(seq)}' object has no attribute 'count'`);
}

/** Python `sorted(iterable)` (stable, `<` comparisons with Python's type errors). */
export function sorted(iterable: PyValue): PyValue[] {
  const items = [...pyIter(iterable)];
  // Python's sort only uses `<`; a TypeError from any comparison propagates.
  return items.sort((a, b) => (pyLt(a, b) ? -1 : pyLt(b, a) ? 1 : 0));
}

/** Python `zip(a, b)` as an array of pairs. */
export function zip(a: PyValue, b: PyValue): [PyValue, PyValue][] {
  const xs = [...pyIter(a)];
  const ys = [...pyIter(b)];
  const n = Math.min(xs.length, ys.length);
  const out: [PyValue, PyValue][] = [];
  for (let i = 0; i < n; i++) out.push([xs[i]!, ys[i]!]);
  return out;
}

/** Python `max(a, b)`: `b` only when `b > a` (so `max(0, 0.0)` is the int `0`). */
export function max2(a: PyValue, b: PyValue): PyValue {
  return pyGt(b, a) ? b : a;
}

/** Python `int(v)` for str, int, float and bool, with Python's exception texts. */
export function pyInt(v: PyValue): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number") {
    if (Number.isNaN(v)) throw new PyError("ValueError", "cannot convert float NaN to integer");
    if (!Number.isFinite(v)) {
      throw new PyError("OverflowError", "cannot convert float infinity to integer");
    }
    return BigInt(Math.trunc(v));
  }
  if (typeof v === "string") {
    const t = v.trim();
    if (/^[-+]?[0-9]+(?:_[0-9]+)*$/.test(t)) return BigInt(t.replaceAll("_", ""));
    throw new PyError("ValueError", `invalid literal for int() with base 10: ${strRepr(v)}`);
  }
  throw new PyError(
    "TypeError",
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`,
  );
}

function inplace(
  op: "+" | "-",
  f: (a: PyValue, b: PyValue) => PyValue,
): (a: PyValue, b: PyValue) => PyValue {
  return (a, b) => {
    try {
      return f(a, b);
    } catch (err) {
      if (
        err instanceof PyError && err.message.startsWith(`unsupported operand type(s) for ${op}:`)
      ) {
        throw new PyError(err.pyType, err.message.replace(`for ${op}:`, `for ${op}=:`));
      }
      throw err;
    }
  };
}

/** Python `a += b` for numbers (the error text names `+=`). */
export const iadd: (a: PyValue, b: PyValue) => PyValue = inplace("+", pyAdd);
/** Python `a -= b` for numbers (the error text names `-=`). */
export const isub: (a: PyValue, b: PyValue) => PyValue = inplace("-", pySub);

/** Python `x in container` where `container` is a dict (raises for unhashable `x`). */
export function inDict(container: PyDict, x: PyValue): boolean {
  return pyContains(container, x);
}

/** Python `a != b` */
export function ne(a: PyValue, b: PyValue): boolean {
  return !pyEquals(a, b);
}
