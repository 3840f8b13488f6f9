/**
 * The long_context constants of the reference (`long_context.py`), read from the vendored
 * `data/bfcl/derived/reference_constants_HEAD.json`. Every call of {@linkcode longContext}
 * after the first returns the same immutable source; callers deep-copy what they mutate.
 * @module
 */
import { parsePyJson, pyDeepCopy, PyDict, type PyValue } from "@parlmt/pycompat";
import { readBfclDataFile } from "../data_files.ts";
import { decodeState } from "../state_codec.ts";

/** The long_context constants, as Python values. */
export interface LongContextConstants {
  /** Files that are not padded (`FILES_TAIL_USED`). */
  readonly FILES_TAIL_USED: readonly string[];
  /** Text appended to every other file (`FILE_CONTENT_EXTENSION`). */
  readonly FILE_CONTENT_EXTENSION: string;
  /** The 30 empty files added to bottom-most directories. */
  readonly POPULATE_FILE_EXTENSION: readonly string[];
  /** Any other constant by name (deep-copied on every access). */
  get(name: string): PyValue;
}

let cached: LongContextConstants | undefined;

/** The long_context constants (loaded on first use). */
export function longContext(): LongContextConstants {
  if (cached) return cached;
  const all = parsePyJson(readBfclDataFile("derived/reference_constants_HEAD.json"));
  const lc = (all as PyDict).get("long_context");
  if (!(lc instanceof PyDict)) throw new TypeError("Cannot load long_context constants");
  const table = decodeState(lc) as PyDict;
  const strings = (name: string) => table.get(name) as string[];
  cached = {
    FILES_TAIL_USED: strings("FILES_TAIL_USED"),
    FILE_CONTENT_EXTENSION: table.get("FILE_CONTENT_EXTENSION") as string,
    POPULATE_FILE_EXTENSION: strings("POPULATE_FILE_EXTENSION"),
    get(name: string): PyValue {
      const v = table.get(name);
      if (v === undefined) throw new RangeError(`Cannot find long_context constant "${name}"`);
      return pyDeepCopy(v);
    },
  };
  return cached;
}
