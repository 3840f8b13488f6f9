/**
 * Access to the vendored BFCL data under `data/bfcl/` (see data/bfcl/PROVENANCE.md).
 * @module
 */

const DATA_ROOT = new URL("./data/bfcl/", import.meta.url);

/** Read a vendored BFCL data file as text; `relativePath` is relative to `data/bfcl/`. */
export function readBfclDataFile(relativePath: string): string {
  if (relativePath.includes("..")) {
    throw new RangeError(
      `Cannot read BFCL data file "${relativePath}": path escapes the data folder`,
    );
  }
  return Deno.readTextFileSync(new URL(relativePath, DATA_ROOT));
}
