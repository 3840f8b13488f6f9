/**
 * The reference's database hash: `sha256(str(to_hashable(data)).encode("utf-8")).hexdigest()`,
 * where `to_hashable` turns a dict into a tuple of `(key, value)` pairs sorted by key and a list
 * into a tuple, and `str()` of the result is the Python tuple repr (`(x,)` for one element).
 * @module
 */
import { createHash } from "node:crypto";
import { compareStrings, PyDict, pyRepr, PySet, PyTuple, type PyValue } from "@parlmt/pycompat";
import type { TauDb } from "./db.ts";

/** `str(to_hashable(v))` */
export function hashableRepr(v: PyValue): string {
  if (v instanceof PyDict) {
    const entries = [...v.entries()].sort((a, b) => compareKeys(a[0], b[0]));
    return tupleOf(entries.map(([k, x]) => `(${pyRepr(k)}, ${hashableRepr(x)})`));
  }
  if (Array.isArray(v)) return tupleOf(v.map((x) => hashableRepr(x)));
  if (v instanceof PySet) {
    return tupleOf([...v].sort((a, b) => compareKeys(a, b)).map((x) => pyRepr(x)));
  }
  if (v instanceof PyTuple) return tupleOf(v.items.map((x) => hashableRepr(x)));
  return pyRepr(v);
}

function compareKeys(a: PyValue, b: PyValue): number {
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  // JSON data only has str keys; other key types keep their insertion order.
  return 0;
}

function tupleOf(parts: string[]): string {
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(", ")})`;
}

/** `consistent_hash(to_hashable(v))` of any value. */
export function hashValue(v: PyValue): string {
  return createHash("sha256").update(hashableRepr(v), "utf8").digest("hex");
}

// Entry reprs `('key', record)` of pristine (shared, never mutated) records, computed once.
const SHARED_ENTRY_REPR = new WeakMap<object, string>();
// Sorted key lists of pristine tables.
const SHARED_SORTED_KEYS = new WeakMap<PyDict, string[]>();
const DB_HASH = new WeakMap<TauDb, { version: number; hash: string }>();

function sortedKeys(table: PyDict): string[] {
  return ([...table.keys()] as string[]).sort(compareStrings);
}

/**
 * The hash of a whole database, equal to the reference's `Env.get_data_hash()`. Reprs of
 * records still shared with the pristine data are cached across databases, and the hash of a
 * database is cached until its next write.
 */
export function dbHash(db: TauDb): string {
  const memo = DB_HASH.get(db);
  if (memo && memo.version === db.version) return memo.hash;
  const h = createHash("sha256");
  const names = db.tableNames.sort(compareStrings);
  h.update("(");
  names.forEach((name, i) => {
    const table = db.table(name);
    let keys: string[];
    if (db.ownsTable(name)) keys = sortedKeys(table);
    else {
      keys = SHARED_SORTED_KEYS.get(table) ?? sortedKeys(table);
      SHARED_SORTED_KEYS.set(table, keys);
    }
    const parts: string[] = [];
    for (const key of keys) {
      const rec = table.get(key)!;
      const shared = typeof rec === "object" && rec !== null && !db.owns(rec);
      let s = shared ? SHARED_ENTRY_REPR.get(rec) : undefined;
      if (s === undefined) {
        s = `(${pyRepr(key)}, ${hashableRepr(rec)})`;
        if (shared) SHARED_ENTRY_REPR.set(rec, s);
      }
      parts.push(s);
    }
    h.update(`${i > 0 ? ", " : ""}(${pyRepr(name)}, ${tupleOf(parts)})`, "utf8");
  });
  h.update(names.length === 1 ? ",)" : ")");
  const hash = h.digest("hex");
  DB_HASH.set(db, { version: db.version, hash });
  return hash;
}
