/**
 * The Python value model used by every Python-compatible piece of the project.
 *
 * | Python        | TypeScript                         |
 * |---------------|------------------------------------|
 * | `None`        | `null`                             |
 * | `bool`        | `boolean`                          |
 * | `int`         | `bigint`                           |
 * | `float`       | `number`                           |
 * | `str`         | `string`                           |
 * | `list`        | `PyValue[]`                        |
 * | `tuple`       | {@linkcode PyTuple}                |
 * | `dict`        | {@linkcode PyDict} (insertion order, Python key equality) |
 * | `set`         | {@linkcode PySet}                  |
 * | other objects | {@linkcode PyOpaque} (`repr` text, not JSON serialisable) |
 *
 * @module
 */

/** A Python value (see the module documentation for the mapping). */
export type PyValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyOpaque;

/** A hashable Python value usable as a dict key or set member. */
export type PyKey = null | boolean | bigint | number | string | PyTuple;

/** Normalise a key so that Python-equal keys (`1`, `1.0`, `True`) map to one JS key. */
function normKey(key: PyKey): unknown {
  if (typeof key === "boolean") return key ? 1n : 0n;
  if (typeof key === "number" && Number.isInteger(key)) return BigInt(key);
  if (key instanceof PyTuple) return "\u0000tuple:" + key.items.map((k) => keyText(k)).join(",");
  return key;
}

function keyText(key: PyValue): string {
  const n = normKey(key as PyKey);
  return typeof n === "string" ? JSON.stringify(n) : String(n) + ":" + typeof n;
}

/** A Python tuple. */
export class PyTuple {
  /** The tuple's items. */
  readonly items: readonly PyValue[];
  /** Wrap items as a tuple. */
  constructor(items: readonly PyValue[]) {
    this.items = items;
  }
}

/** A value with a fixed Python `repr` that `json.dumps` cannot serialise (mpf, Decimal, complex). */
export class PyOpaque {
  /** The Python type name, as in `type(x).__name__`. */
  readonly typeName: string;
  /** The Python `repr` text. */
  readonly repr: string;
  /** Create an opaque value. */
  constructor(typeName: string, repr: string) {
    this.typeName = typeName;
    this.repr = repr;
  }
}

/** A Python dict: insertion-ordered, with Python key equality (`1 == 1.0 == True`). */
export class PyDict {
  #map = new Map<unknown, [PyKey, PyValue]>();

  /** Create a dict from `[key, value]` pairs (later pairs overwrite earlier values). */
  constructor(entries?: Iterable<readonly [PyKey, PyValue]>) {
    if (entries) { for (const [k, v] of entries) this.set(k, v); }
  }

  /** Number of items, `len(d)`. */
  get size(): number {
    return this.#map.size;
  }

  /** `key in d` */
  has(key: PyKey): boolean {
    return this.#map.has(normKey(key));
  }

  /** `d.get(key)`, `undefined` when missing. */
  get(key: PyKey): PyValue | undefined {
    return this.#map.get(normKey(key))?.[1];
  }

  /** `d[key] = value` (an existing key keeps its original key object and position). */
  set(key: PyKey, value: PyValue): this {
    const nk = normKey(key);
    const old = this.#map.get(nk);
    if (old) old[1] = value;
    else this.#map.set(nk, [key, value]);
    return this;
  }

  /** `del d[key]`; returns whether the key existed. */
  delete(key: PyKey): boolean {
    return this.#map.delete(normKey(key));
  }

  /** `d.keys()` */
  *keys(): IterableIterator<PyKey> {
    for (const [k] of this.#map.values()) yield k;
  }

  /** `d.values()` */
  *values(): IterableIterator<PyValue> {
    for (const [, v] of this.#map.values()) yield v;
  }

  /** `d.items()` */
  *entries(): IterableIterator<[PyKey, PyValue]> {
    for (const [k, v] of this.#map.values()) yield [k, v];
  }

  /** Iterate items, like `entries()`. */
  [Symbol.iterator](): IterableIterator<[PyKey, PyValue]> {
    return this.entries();
  }

  /** `dict(d)`: a shallow copy. */
  copy(): PyDict {
    return new PyDict(this.entries());
  }
}

/** A Python set (insertion-ordered here; `repr` and state encodings sort when needed). */
export class PySet {
  #map = new Map<unknown, PyKey>();

  /** Create a set from members. */
  constructor(items?: Iterable<PyKey>) {
    if (items) { for (const k of items) this.add(k); }
  }

  /** `len(s)` */
  get size(): number {
    return this.#map.size;
  }

  /** `x in s` */
  has(key: PyKey): boolean {
    return this.#map.has(normKey(key));
  }

  /** `s.add(x)` */
  add(key: PyKey): this {
    const nk = normKey(key);
    if (!this.#map.has(nk)) this.#map.set(nk, key);
    return this;
  }

  /** `s.discard(x)`; returns whether it was present. */
  delete(key: PyKey): boolean {
    return this.#map.delete(normKey(key));
  }

  /** Iterate the members. */
  *values(): IterableIterator<PyKey> {
    yield* this.#map.values();
  }

  /** Iterate the members. */
  [Symbol.iterator](): IterableIterator<PyKey> {
    return this.values();
  }
}

/** `type(x).__name__` */
export function pyTypeName(v: PyValue | undefined): string {
  if (v === null || v === undefined) return "NoneType";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "str";
  }
  if (Array.isArray(v)) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PySet) return "set";
  return v.typeName;
}

/** Whether `v` can be a dict key or set member (hashable). */
export function isPyKey(v: PyValue): v is PyKey {
  return v === null || typeof v !== "object" || v instanceof PyTuple;
}

/** `bool(v)` */
export function pyTruthy(v: PyValue): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case "boolean":
      return v;
    case "bigint":
      return v !== 0n;
    case "number":
      return v !== 0;
    case "string":
      return v.length > 0;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  if (v instanceof PyDict || v instanceof PySet) return v.size > 0;
  return true;
}

/** Whether `v` is a Python number (`int`, `float` or `bool`). */
export function isPyNumber(v: PyValue | undefined): v is boolean | bigint | number {
  return typeof v === "bigint" || typeof v === "number" || typeof v === "boolean";
}

/** Compare two real Python numbers exactly: negative, zero or positive (NaN gives NaN). */
export function compareNumbers(a: boolean | bigint | number, b: boolean | bigint | number): number {
  const x = typeof a === "boolean" ? (a ? 1n : 0n) : a;
  const y = typeof b === "boolean" ? (b ? 1n : 0n) : b;
  if (typeof x === "bigint" && typeof y === "bigint") return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === "number" && typeof y === "number") {
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  // Mixed int/float: compare exactly like CPython does.
  const f = (typeof x === "number" ? x : y) as number;
  const i = (typeof x === "bigint" ? x : y) as bigint;
  let c: number;
  if (Number.isNaN(f)) return NaN;
  if (!Number.isFinite(f)) c = f > 0 ? 1 : -1;
  else {
    const fl = BigInt(Math.floor(f));
    c = fl > i ? 1 : fl < i ? -1 : f > Math.floor(f) ? 1 : 0;
  }
  return typeof x === "number" ? c : -c;
}

/** Python `a == b` for the value model (numbers across int/float/bool, containers recursively). */
export function pyEquals(a: PyValue | undefined, b: PyValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (isPyNumber(a)) return isPyNumber(b) && compareNumbers(a, b) === 0;
  if (typeof a === "string" || typeof b === "string") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!pyEquals(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof PyTuple) {
    if (!(b instanceof PyTuple) || a.items.length !== b.items.length) return false;
    return a.items.every((x, i) => pyEquals(x, b.items[i]));
  }
  if (a instanceof PyDict) {
    if (!(b instanceof PyDict) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !pyEquals(v, b.get(k))) return false;
    }
    return true;
  }
  if (a instanceof PySet) {
    if (!(b instanceof PySet) || a.size !== b.size) return false;
    for (const k of a) if (!b.has(k)) return false;
    return true;
  }
  if (a instanceof PyOpaque) {
    return b instanceof PyOpaque && a.typeName === b.typeName && a.repr === b.repr;
  }
  return false;
}

/** `copy.deepcopy(v)` for the value model; shared sub-objects stay shared in the copy (memo). */
export function pyDeepCopy<T extends PyValue>(v: T, memo: Map<object, unknown> = new Map()): T {
  if (v === null || typeof v !== "object" || v instanceof PyOpaque) return v;
  const seen = memo.get(v);
  if (seen !== undefined) return seen as T;
  if (Array.isArray(v)) {
    const out: PyValue[] = [];
    memo.set(v, out);
    for (const x of v) out.push(pyDeepCopy(x, memo));
    return out as T;
  }
  if (v instanceof PyDict) {
    const d = new PyDict();
    memo.set(v, d);
    for (const [k, x] of (v as PyDict).entries()) d.set(k, pyDeepCopy(x, memo));
    return d as T;
  }
  if (v instanceof PySet) {
    const s = new PySet(v);
    memo.set(v, s);
    return s as T;
  }
  const t = new PyTuple((v as PyTuple).items.map((x) => pyDeepCopy(x, memo)));
  memo.set(v, t);
  return t as T;
}
