import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { LogprobScorer } from "@parlmt/model";
import { testModel } from "./_test_model.ts";
import { Engine, type EngineOptions } from "./engine.ts";
import { QueueFullError, VersionConflictError } from "./errors.ts";
import { type GenerateJob, Scheduler } from "./scheduler.ts";

const GREEDY = { temperature: 0, topP: 1, topK: 0 };

function job(promptIds: number[], extra: Partial<GenerateJob> = {}): GenerateJob {
  return {
    promptIds,
    sampling: GREEDY,
    seed: 1n,
    maxTokens: 12,
    stop: [],
    pinVersion: 0n,
    ...extra,
  };
}

const PROMPTS = [[5, 9, 33], [100, 7], [40, 41, 42, 43, 44, 45, 46], [250], [17, 18, 19, 20, 21]];

for (
  const [what, opts] of [
    ["", {}],
    [", prefills on a second session", { intraOpNumThreads: 1, prefillThreads: 2 }],
  ] as const
) {
  Deno.test(`Scheduler logprobs equal a full-sequence forward of the same tokens${what}`, () =>
    logprobsMatchForward(opts));
}

async function logprobsMatchForward(opts: EngineOptions): Promise<void> {
  const m = testModel();
  const engine = await Engine.fromWeightsBlob(m.blob(1), opts);
  const sched = new Scheduler();
  await sched.install(engine);
  const scorer = await LogprobScorer.create(m.config, { weights: m.weights });
  try {
    const results = await Promise.all(
      PROMPTS.map((p, i) =>
        sched.submit(job(p, { sampling: { temperature: 1, topP: 1, topK: 0 }, seed: BigInt(i) }))
      ),
    );
    for (const r of results) {
      const seq = [...r.promptIds, ...r.tokenIds];
      const lp = await scorer.score(1, seq.slice(0, -1), seq.slice(1));
      const tail = Array.from(lp.slice(r.promptIds.length - 1));
      assert.equal(tail.length, r.logprobs.length);
      tail.forEach((x, i) => assert.ok(Math.abs(x - r.logprobs[i]!) < 1e-4, `token ${i}`));
      assert.ok(r.tokenVersions.every((v) => v === 1n));
    }
  } finally {
    await scorer.dispose();
    await sched.close();
  }
}

Deno.test("Scheduler batching gives the same tokens as one-at-a-time greedy decoding", async () => {
  const m = testModel(3);
  const sched = new Scheduler({ maxBatch: 3 });
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  try {
    const alone: number[][] = [];
    for (const p of PROMPTS) alone.push((await sched.submit(job(p))).tokenIds);
    // Requests of different lengths join and leave (maxBatch 3 < 5 requests, varied maxTokens).
    const batched = await Promise.all(
      PROMPTS.map((p, i) => sched.submit(job(p, { maxTokens: 12 - (i % 2) * 4 }))),
    );
    batched.forEach((r, i) => assert.deepEqual(r.tokenIds, alone[i]!.slice(0, r.tokenIds.length)));
    assert.ok(sched.steps > 0);
  } finally {
    await sched.close();
  }
});

Deno.test("Scheduler sampling with a seed is reproducible", async () => {
  const m = testModel();
  const sched = new Scheduler();
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  try {
    const s = { temperature: 1.5, topP: 0.95, topK: 50 };
    const run = (seed: bigint) =>
      sched.submit(job([5, 9, 33], { sampling: s, seed, maxTokens: 20 }));
    const [a, b, c] = await Promise.all([run(7n), run(7n), run(8n)]);
    assert.deepEqual(a.tokenIds, b.tokenIds);
    // Float noise only: rows at other batch positions may differ in the last bits.
    a.logprobs.forEach((x, i) => assert.ok(Math.abs(x - b.logprobs[i]!) < 1e-5));
    assert.notDeepEqual(a.tokenIds, c.tokenIds);
  } finally {
    await sched.close();
  }
});

Deno.test("Scheduler refuses work beyond its queue and frees a cancelled slot at once", async () => {
  const m = testModel();
  const sched = new Scheduler({ maxBatch: 1, maxQueue: 1 });
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  try {
    const first = sched.submit(job([1, 2], { maxTokens: 30 }));
    // Let the first request take the only slot.
    while (sched.activeRequests === 0) await new Promise((r) => setTimeout(r, 1));
    const ac = new AbortController();
    const queued = sched.submit(job([3], { signal: ac.signal }));
    await assert.rejects(sched.submit(job([4])), QueueFullError);
    ac.abort();
    assert.equal((await queued).finishReason, "cancelled");
    assert.equal(sched.queueDepth, 0);
    const next = sched.submit(job([4], { maxTokens: 2 }));
    assert.equal((await first).finishReason, "length");
    assert.equal((await next).tokenIds.length, 2);
  } finally {
    await sched.close();
  }
});

Deno.test("Scheduler swaps weights between steps without losing a request", async () => {
  const m1 = testModel(1);
  const m2 = testModel(2);
  const sched = new Scheduler({ maxBatch: 4, retainVersions: 1 });
  await sched.install(await Engine.fromWeightsBlob(m1.blob(1)));
  try {
    const pinned = sched.submit(job([9, 8, 7], { maxTokens: 30, pinVersion: 1n }));
    const follow = PROMPTS.map((p) => sched.submit(job(p, { maxTokens: 30 })));
    while (sched.tokensGenerated < 8) await new Promise((r) => setTimeout(r, 1));
    await sched.install(await Engine.fromWeightsBlob(m2.blob(2)));
    const results = await Promise.all(follow);
    for (const r of results) {
      assert.equal(r.finishReason, "length");
      assert.equal(r.tokenIds.length, 30);
    }
    const versions = new Set(results.flatMap((r) => r.tokenVersions));
    assert.deepEqual([...versions].sort(), [1n, 2n]);
    // Versions never go backwards within a request.
    for (const r of results) {
      assert.deepEqual(r.tokenVersions, [...r.tokenVersions].sort((a, b) => Number(a - b)));
    }
    assert.ok((await pinned).tokenVersions.every((v) => v === 1n));
    await assert.rejects(sched.submit(job([1], { pinVersion: 9n })), VersionConflictError);
  } finally {
    await sched.close();
  }
});

Deno.test("Scheduler gives I/O several event-loop turns between decode steps", async () => {
  const m = testModel();
  const sched = new Scheduler({ maxBatch: 4 });
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  try {
    const long = sched.submit(job([5, 9, 33], { maxTokens: 60 }));
    while (sched.tokensGenerated < 4) await new Promise((r) => setImmediate(r));
    // A chain of 10 setImmediate hops (as a request takes between its socket and its handler)
    // must not wait one decode step per hop.
    const from = sched.steps;
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    const waited = sched.steps - from;
    assert.ok(waited <= 2, `10 event-loop turns took ${waited} decode steps`);
    assert.equal((await long).tokenIds.length, 60);
  } finally {
    await sched.close();
  }
});

Deno.test("Scheduler serves a rotary-position model: batched logprobs equal a full forward", async () => {
  const m = testModel(4, { rotary: true });
  const sched = new Scheduler({ maxBatch: 3 });
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  const scorer = await LogprobScorer.create(m.config, { weights: m.weights });
  try {
    const alone: number[][] = [];
    for (const p of PROMPTS) alone.push((await sched.submit(job(p))).tokenIds);
    const batched = await Promise.all(
      PROMPTS.map((p, i) => sched.submit(job(p, { maxTokens: 12 - (i % 2) * 4 }))),
    );
    for (const [i, r] of batched.entries()) {
      assert.deepEqual(r.tokenIds, alone[i]!.slice(0, r.tokenIds.length));
      const seq = [...r.promptIds, ...r.tokenIds];
      const lp = await scorer.score(1, seq.slice(0, -1), seq.slice(1));
      const tail = Array.from(lp.slice(r.promptIds.length - 1));
      tail.forEach((x, j) => assert.ok(Math.abs(x - r.logprobs[j]!) < 1e-4, `token ${j}`));
    }
  } finally {
    await scorer.dispose();
    await sched.close();
  }
});
