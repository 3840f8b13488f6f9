import assert from "node:assert/strict";
import { bucketLengths } from "./config.ts";

Deno.test("bucketLengths() defaults to the quarters of the sequence length", () => {
  assert.deepEqual(bucketLengths([], 512), [128, 256, 384]);
  assert.deepEqual(bucketLengths([], 100), [32, 56, 80]);
  assert.deepEqual(bucketLengths([], 4), []);
  assert.deepEqual(bucketLengths(["64", "200"], 256), [64, 200]);
});

Deno.test("bucketLengths() names the flag and the bad value", () => {
  for (const bad of ["0", "1.5", "x", "300"]) {
    assert.throws(
      () => bucketLengths([bad], 256),
      new RegExp(
        `--train-buckets.*"${bad.replace(".", "\\.")}" must be an integer in \\[2, 256\\]`,
      ),
    );
  }
});
