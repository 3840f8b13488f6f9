import assert from "node:assert/strict";
import { packRows, repackBatch, type RowCache, stepMask, unpackRow, writeRow } from "./kv_batch.ts";

const H = 2;
const D = 3;

function row(length: number, seed: number): RowCache {
  const kv = [0, 1].map((i) =>
    Float32Array.from({ length: H * length * D }, (_, k) => seed * 1000 + i * 100 + k)
  );
  return { length, kv };
}

Deno.test("packRows() and unpackRow() round-trip rows of different lengths", () => {
  const rows = [row(2, 1), row(5, 2), row(1, 3)];
  const batch = packRows(rows, H, D);
  assert.equal(batch.P, 5);
  rows.forEach((r, b) => assert.deepEqual(unpackRow(batch, b, H, D), r));
  assert.deepEqual(
    Array.from(stepMask(batch)),
    [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1].map(BigInt),
  );
});

Deno.test("repackBatch() keeps chosen slots, adds rows and trims padding; writeRow() fills a slot", () => {
  const rows = [row(2, 1), row(5, 2), row(1, 3)];
  const batch = packRows(rows, H, D);
  const next = repackBatch(batch, [0, 2], [row(3, 4)], H, D);
  assert.equal(next.P, 3);
  assert.deepEqual(unpackRow(next, 0, H, D), rows[0]);
  assert.deepEqual(unpackRow(next, 1, H, D), rows[2]);
  assert.deepEqual(unpackRow(next, 2, H, D), row(3, 4));
  writeRow(next, 1, row(2, 5), H, D);
  assert.deepEqual(unpackRow(next, 1, H, D), row(2, 5));
  assert.throws(() => writeRow(next, 1, row(4, 6), H, D), RangeError);
});
