import assert from "node:assert/strict";
import { testCoreFiles } from "./_test_model.ts";
import type { GenerateJob } from "./generation.ts";
import { EngineReplicas } from "./replicas.ts";
import { ServingCore } from "./serving_core.ts";
import { parseConfig } from "@parlmt/config";
import { POLICY_CONFIG_SPEC } from "./config.ts";
import { loadRuntime } from "./runtime.ts";
import type { WeightsState } from "./weights_watcher.ts";

function job(promptIds: number[], seed: bigint): GenerateJob {
  return {
    promptIds,
    sampling: { temperature: 1, topP: 1, topK: 0 },
    seed,
    maxTokens: 10,
    stop: [],
    pinVersion: 0n,
  };
}

Deno.test("EngineReplicas spreads requests over its engines and decodes what one core does", async () => {
  const { options } = await testCoreFiles();
  const local = await ServingCore.load(options());
  const replicas = await EngineReplicas.start(2, options());
  try {
    assert.equal(replicas.replicas.length, 2);
    assert.equal(replicas.current?.version, 7n);
    const prompts = [[5, 6, 7], [9, 10, 11, 12], [20], [3, 4], [8, 8, 8], [1]];
    const want = await Promise.all(prompts.map((p, i) => local.submit(job(p, BigInt(i)))));
    const pending = prompts.map((p, i) => replicas.submit(job(p, BigInt(i))));
    assert.deepEqual(replicas.inFlight, [3, 3]); // least loaded first: alternating
    const got = await Promise.all(pending);
    assert.deepEqual(got, want);
    assert.deepEqual(replicas.inFlight, [0, 0]);
    await new Promise((r) => setTimeout(r, 150)); // counters are posted at most every 100 ms
    assert.equal(replicas.tokensGenerated, got.reduce((n, r) => n + r.tokenIds.length, 0));
    assert.equal(replicas.activeRequests, 0);
  } finally {
    await replicas.close();
    await local.close();
  }
});

Deno.test("EngineReplicas swaps every engine or none", async () => {
  const { m, options } = await testCoreFiles();
  const replicas = await EngineReplicas.start(2, options());
  try {
    const blob = m.blob(8);
    await assert.rejects(
      replicas.apply(8n, blob.subarray(0, blob.length - 100), {}),
      /Cannot load weights v8/,
    );
    assert.deepEqual(replicas.replicas.map((r) => r.current?.version), [7n, 7n]);
    const config = await replicas.apply(8n, blob, {});
    assert.equal(JSON.parse(config).vocabSize, m.config.vocabSize);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(replicas.replicas.map((r) => r.current?.version), [8n, 8n]);
    const got = await Promise.all(
      [1, 2, 3, 4].map((s) => replicas.submit(job([1, 2, 3], BigInt(s)))),
    );
    assert.ok(
      got.every((r) => r.tokenVersions.length > 0 && r.tokenVersions.every((v) => v === 8n)),
    );
  } finally {
    await replicas.close();
  }
  await assert.rejects(replicas.submit(job([1], 1n)), /draining/);
});

Deno.test("EngineReplicas refuses a count that is not a positive integer", async () => {
  const { options } = await testCoreFiles();
  for (const n of [0, -1, 1.5]) {
    await assert.rejects(EngineReplicas.start(n, options()), /engine replicas/);
  }
});

Deno.test("policy-inference refuses engine replicas on the main thread, naming the flag", async () => {
  const config = parseConfig("policy-inference", POLICY_CONFIG_SPEC, [
    "--engine-thread",
    "main",
    "--engine-replicas",
    "2",
  ], {});
  const weights = {
    version: 0n,
    sha256: "",
    sizeBytes: 0,
    meta: {},
    lastSwap: "",
    rejected: 0,
    lastSwapMs: 0,
  } as unknown as WeightsState;
  await assert.rejects(loadRuntime(config, weights), /2 engine replicas on the main thread/);
});
