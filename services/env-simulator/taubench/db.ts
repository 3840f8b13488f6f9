/**
 * A τ-bench database (`{"orders", "products", "users"}` or `{"flights", "reservations",
 * "users"}`) with copy-on-write records: a fresh database shares every record with the pristine
 * data loaded from disk, and a tool that mutates a record first asks for a private copy with
 * {@linkcode TauDb.writable}. This replaces the reference's `json.load` on every reset (same
 * semantics: nothing leaks between episodes) at a fraction of the cost.
 * @module
 */
import { pyDeepCopy, PyDict, type PyKey, type PyValue } from "@parlmt/pycompat";

/** The pristine tables of one domain, shared read-only by every {@linkcode TauDb}. */
export type PristineTables = ReadonlyMap<string, PyDict>;

/** One τ-bench database. */
export class TauDb {
  #tables: Map<string, PyDict>;
  #ownTables = new Set<string>();
  #ownRecords = new Set<PyValue>();
  #version = 0;

  /** A fresh database over `pristine` (no copy is made until a record is written). */
  constructor(pristine: PristineTables) {
    this.#tables = new Map(pristine);
  }

  /** Table names in the order of the data files. */
  get tableNames(): string[] {
    return [...this.#tables.keys()];
  }

  /** Incremented by every write; equal versions mean equal contents. */
  get version(): number {
    return this.#version;
  }

  /** A table for reading (`data[name]`). Do not mutate it or its records. */
  table(name: string): PyDict {
    const t = this.#tables.get(name);
    if (t === undefined) throw new RangeError(`Cannot read table "${name}": no such table`);
    return t;
  }

  /** Whether `record` is a private copy owned by this database (never shared). */
  owns(record: PyValue): boolean {
    return this.#ownRecords.has(record);
  }

  /** Whether table `name` has keys added or replaced since the pristine data. */
  ownsTable(name: string): boolean {
    return this.#ownTables.has(name);
  }

  /** The record `data[name][key]` made private to this database, ready to be mutated. */
  writable(name: string, key: PyKey): PyDict {
    this.#version++;
    const t = this.table(name);
    const rec = t.get(key);
    if (!(rec instanceof PyDict)) {
      throw new RangeError(`Cannot write record "${String(key)}" of table "${name}": not a dict`);
    }
    if (this.#ownRecords.has(rec)) return rec;
    const copy = pyDeepCopy(rec);
    this.#ownRecords.add(copy);
    this.#mutableTable(name).set(key, copy);
    return copy;
  }

  /** `data[name][key] = record` (the record becomes owned by this database). */
  setRecord(name: string, key: PyKey, record: PyDict): void {
    this.#version++;
    this.#ownRecords.add(record);
    this.#mutableTable(name).set(key, record);
  }

  #mutableTable(name: string): PyDict {
    const t = this.table(name);
    if (this.#ownTables.has(name)) return t;
    const copy = t.copy();
    this.#tables.set(name, copy);
    this.#ownTables.add(name);
    return copy;
  }
}
