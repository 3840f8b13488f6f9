import assert from "node:assert/strict";
import { parseConfig } from "@parlmt/config";
import { POLICY_CONFIG_SPEC, prefillThreadsOf } from "./config.ts";

Deno.test("policy-inference --engine-thread defaults to the worker and refuses other values", () => {
  const parse = (args: string[], env: Record<string, string> = {}) =>
    parseConfig("policy-inference", POLICY_CONFIG_SPEC, args, env);
  assert.equal(parse([]).engineThread, "worker");
  assert.equal(parse(["--engine-thread", "main"]).engineThread, "main");
  assert.equal(parse([], { POLICY_INFERENCE_ENGINE_THREAD: "main" }).engineThread, "main");
  for (const bad of ["gpu", "", "Worker"]) {
    assert.throws(
      () => parse(["--engine-thread", bad]),
      /Invalid value .* for --engine-thread: expected one of "worker", "main"/,
    );
  }
});

Deno.test("policy-inference decodes on one onnxruntime thread unless told otherwise", () => {
  const parse = (args: string[], env: Record<string, string> = {}) =>
    parseConfig("policy-inference", POLICY_CONFIG_SPEC, args, env);
  assert.equal(parse([]).intraOpThreads, 1);
  assert.equal(parse(["--intra-op-threads", "2"]).intraOpThreads, 2);
  assert.equal(parse([], { POLICY_INFERENCE_INTRA_OP_THREADS: "4" }).intraOpThreads, 4);
  assert.throws(() => parse(["--intra-op-threads", "0"]), /intra-op-threads/);
});

Deno.test("policy-inference shares the cores out among replicas for prefills unless told", () => {
  const parse = (args: string[]) => parseConfig("policy-inference", POLICY_CONFIG_SPEC, args, {});
  assert.equal(parse([]).prefillThreads, 0);
  assert.equal(parse(["--prefill-threads", "1"]).prefillThreads, 1);
  assert.throws(() => parse(["--prefill-threads", "-1"]), /prefill-threads/);
  // 0: the cores over the replicas, at least the decode threads.
  assert.equal(prefillThreadsOf(parse([]), 2), 2);
  assert.equal(prefillThreadsOf(parse(["--engine-replicas", "2"]), 2), 1);
  assert.equal(prefillThreadsOf(parse(["--engine-replicas", "2"]), 8), 4);
  assert.equal(
    prefillThreadsOf(parse(["--engine-replicas", "4", "--intra-op-threads", "2"]), 2),
    2,
  );
  assert.equal(prefillThreadsOf(parse(["--engine-replicas", "2", "--prefill-threads", "3"]), 2), 3);
  assert.equal(parse([]).engineReplicas, 1);
  assert.throws(() => parse(["--engine-replicas", "0"]), /engine-replicas/);
});
