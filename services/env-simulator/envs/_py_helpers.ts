/**
 * Small Python idioms shared by the environment classes.
 * @module
 */
import {
  isPyKey,
  keyError,
  pyContains,
  PyDict,
  pyEquals,
  PyError,
  type PyKey,
  pyStr,
  pyTypeName,
  type PyValue,
} from "@parlmt/pycompat";

/** Python `hash()`-ability check with CPython's error text. */
export function key(v: PyValue): PyKey {
  if (isPyKey(v)) return v;
  throw new PyError("TypeError", `unhashable type: '${pyTypeName(v)}'`);
}

/** Python `d[k]` */
export function getItem(d: PyValue, k: PyValue): PyValue {
  if (d instanceof PyDict) {
    const x = d.get(key(k));
    if (x === undefined) throw keyError(k);
    return x;
  }
  if (Array.isArray(d)) {
    if (typeof k !== "bigint") {
      throw new PyError(
        "TypeError",
        `list indices must be integers or slices, not ${pyTypeName(k)}`,
      );
    }
    const i = Number(k < 0n ? BigInt(d.length) + k : k);
    if (i < 0 || i >= d.length) throw new PyError("IndexError", "list index out of range");
    return d[i]!;
  }
  throw new PyError("TypeError", `'${pyTypeName(d)}' object is not subscriptable`);
}

/** Python `d[k] = v` */
export function setItem(d: PyValue, k: PyValue, v: PyValue): void {
  if (d instanceof PyDict) {
    d.set(key(k), v);
    return;
  }
  throw new PyError("TypeError", `'${pyTypeName(d)}' object does not support item assignment`);
}

/** Python `d.get(k, default)` on a value that must be a dict. */
export function dictGet(d: PyValue, k: PyValue, fallback: PyValue = null): PyValue {
  if (!(d instanceof PyDict)) {
    throw new PyError("AttributeError", `'${pyTypeName(d)}' object has no attribute 'get'`);
  }
  return d.get(key(k)) ?? fallback;
}

/** Python `lst.append(x)` */
export function append(lst: PyValue, x: PyValue): void {
  if (!Array.isArray(lst)) {
    throw new PyError("AttributeError", `'${pyTypeName(lst)}' object has no attribute 'append'`);
  }
  lst.push(x);
}

/** Python `lst.remove(x)` (first equal element). */
export function removeFirst(lst: PyValue, x: PyValue): void {
  if (!Array.isArray(lst)) {
    throw new PyError("AttributeError", `'${pyTypeName(lst)}' object has no attribute 'remove'`);
  }
  const i = lst.findIndex((y) => pyEquals(y, x));
  if (i < 0) throw new PyError("ValueError", "list.remove(x): x not in list");
  lst.splice(i, 1);
}

/** `list(d.items())[0]` for a single-key dict such as an inbox message. */
export function firstItem(message: PyValue): [PyKey, PyValue] {
  if (!(message instanceof PyDict)) {
    throw new PyError("AttributeError", `'${pyTypeName(message)}' object has no attribute 'items'`);
  }
  const first = message.entries().next();
  if (first.done) throw new PyError("IndexError", "list index out of range");
  return first.value;
}

/** Python `x in container` */
export function contains(container: PyValue, x: PyValue): boolean {
  return pyContains(container, x);
}

/** Python `str.lower()` on a value that must be a str. */
export function lower(v: PyValue): string {
  if (typeof v !== "string") {
    throw new PyError("AttributeError", `'${pyTypeName(v)}' object has no attribute 'lower'`);
  }
  return v.toLowerCase();
}

/** f-string interpolation `{v}` */
export function fmt(v: PyValue): string {
  return pyStr(v);
}

/** Python `int(s)` for the str keys of loaded data (`None` when not an integer literal). */
export function intFromStr(s: string): bigint | undefined {
  const t = s.trim();
  return /^[+-]?\d+(_\d+)*$/.test(t) ? BigInt(t.replaceAll("_", "")) : undefined;
}
