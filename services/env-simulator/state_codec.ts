/**
 * The oracle's JSON encoding of Python state (docs/bfcl-spec.md §10): sets as
 * `{"__set__": [sorted]}`, dicts with non-str keys as `{"__pydict__": [[k, v], ...]}`,
 * tuples as `{"__tuple__": [...]}`, other objects as `{"__repr__": text}` (decode only); files and directories are already encoded by the
 * file system as `{"__File__": ...}` / `{"__Directory__": ...}`.
 * @module
 */
import {
  compareNumbers,
  compareStrings,
  isPyNumber,
  PyDict,
  type PyKey,
  PyOpaque,
  PySet,
  PyTuple,
  type PyValue,
} from "@parlmt/pycompat";

function sortKey(a: PyKey, b: PyKey): number {
  if (isPyNumber(a) && isPyNumber(b)) return compareNumbers(a, b);
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  return compareStrings(String(a), String(b));
}

/** Encode a state value the way the oracle does (for byte-exact comparison). */
export function encodeState(v: PyValue): PyValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => encodeState(x));
  if (v instanceof PySet) return new PyDict([["__set__", [...v].sort(sortKey)]]);
  if (v instanceof PyTuple) return new PyDict([["__tuple__", v.items.map((x) => encodeState(x))]]);
  if (v instanceof PyDict) {
    let allStr = true;
    for (const k of v.keys()) {
      if (typeof k !== "string") {
        allStr = false;
        break;
      }
    }
    if (allStr) {
      const out = new PyDict();
      for (const [k, x] of v) out.set(k, encodeState(x));
      return out;
    }
    return new PyDict([["__pydict__", [...v].map(([k, x]) => [encodeState(k), encodeState(x)])]]);
  }
  return v;
}

/** Decode the oracle encoding back into Python values (files and directories stay encoded). */
export function decodeState(v: PyValue): PyValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => decodeState(x));
  if (v instanceof PyDict) {
    if (v.size === 1) {
      const [k, x] = v.entries().next().value as [PyKey, PyValue];
      if (k === "__set__" && Array.isArray(x)) return new PySet(x as PyKey[]);
      if (k === "__repr__" && typeof x === "string") {
        return new PyOpaque(x === "Ellipsis" ? "ellipsis" : "object", x);
      }
      if (k === "__tuple__" && Array.isArray(x)) return new PyTuple(x.map((y) => decodeState(y)));
      if (k === "__pydict__" && Array.isArray(x)) {
        const d = new PyDict();
        for (const pair of x) {
          if (Array.isArray(pair)) d.set(decodeState(pair[0]!) as PyKey, decodeState(pair[1]!));
        }
        return d;
      }
    }
    const out = new PyDict();
    for (const [k, x] of v) out.set(k, decodeState(x));
    return out;
  }
  return v;
}
