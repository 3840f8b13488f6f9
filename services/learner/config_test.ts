import assert from "node:assert/strict";
import { parseConfig } from "@parlmt/config";
import { bucketLengths, LEARNER_CONFIG_SPEC } from "./config.ts";

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

Deno.test("learner --advantage-weighting defaults to token and refuses other values by name", () => {
  const parse = (args: string[], env: Record<string, string> = {}) =>
    parseConfig("learner", LEARNER_CONFIG_SPEC, args, env);
  assert.equal(parse([]).advantageWeighting, "token");
  assert.equal(parse(["--advantage-weighting", "episode"]).advantageWeighting, "episode");
  assert.equal(
    parse([], { LEARNER_ADVANTAGE_WEIGHTING: "episode" }).advantageWeighting,
    "episode",
  );
  assert.throws(() => parse(["--advantage-weighting", "sequence"]), /advantage-weighting/);
  assert.throws(
    () => parse([], { LEARNER_ADVANTAGE_WEIGHTING: "x".repeat(10_000) }),
    /ADVANTAGE_WEIGHTING|advantage-weighting/,
  );
});
