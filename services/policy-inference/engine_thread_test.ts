import assert from "node:assert/strict";
import { testCoreFiles } from "./_test_model.ts";
import { tokenBytesOf, TurnFormatConstraint } from "./constrained.ts";
import { EngineThread } from "./engine_thread.ts";
import { NoWeightsError, QueueFullError, VersionConflictError } from "./errors.ts";
import type { GenerateJob, TokenDelta } from "./generation.ts";
import { ServingCore } from "./serving_core.ts";

function job(promptIds: number[], over: Partial<GenerateJob> = {}): GenerateJob {
  return {
    promptIds,
    sampling: { temperature: 1, topP: 1, topK: 0 },
    seed: 11n,
    maxTokens: 12,
    stop: [],
    pinVersion: 0n,
    ...over,
  };
}

Deno.test("EngineThread generates what the in-process core generates, streamed and not", async () => {
  const { m, options } = await testCoreFiles();
  const local = await ServingCore.load(options());
  const thread = await EngineThread.start(options());
  try {
    assert.equal(thread.current?.version, 7n);
    assert.equal(thread.current?.shape.vocabSize, m.config.vocabSize);
    const prompts = [[5, 6, 7], [9, 10, 11, 12], [20]];
    const want = await Promise.all(
      prompts.map((p, i) => local.submit(job(p, { seed: BigInt(i) }))),
    );
    const deltas: TokenDelta[] = [];
    const got = await Promise.all(prompts.map((p, i) =>
      thread.submit(job(p, {
        seed: BigInt(i),
        onDelta: i === 1 ? (d) => deltas.push(d) : undefined,
      }))
    ));
    assert.deepEqual(got, want);
    assert.ok(got[0]!.tokenIds.length > 0);
    assert.deepEqual(deltas.flatMap((d) => d.tokenIds), got[1]!.tokenIds);
    assert.equal(deltas.map((d) => d.textDelta).join(""), got[1]!.text);
    await new Promise((r) => setTimeout(r, 150)); // counters are posted at most every 100 ms
    assert.equal(thread.tokensGenerated, got.reduce((n, r) => n + r.tokenIds.length, 0));
    assert.equal(thread.activeRequests, 0);

    // The turn-format constraint is rebuilt on the worker over its tokenizer.
    const bytes = tokenBytesOf(m.tokenizer.vocab, m.tokenizer.specialTokens);
    const end = [m.tokenizer.tokenId("<|end|>")!];
    const cjob = () =>
      job(m.template.renderPrompt([{ role: "user", content: "list files" }], []), {
        constraint: new TurnFormatConstraint(["ls"], bytes, end),
        maxTokens: 40,
      });
    assert.deepEqual(await thread.submit(cjob()), await local.submit(cjob()));
  } finally {
    await thread.close();
    await local.close();
  }
});

Deno.test("EngineThread: cancellations, swaps and errors cross the thread", async () => {
  // A long context, so the long request below is still decoding when the checks run.
  const { m, options } = await testCoreFiles(3, { blockSize: 1024 });
  const thread = await EngineThread.start(options({ maxBatch: 1, maxQueue: 1 }));
  try {
    // A pinned version that is not served: VersionConflictError, as its own class.
    await assert.rejects(
      thread.submit(job([1, 2], { pinVersion: 99n })),
      (e: unknown) =>
        e instanceof VersionConflictError && /Cannot pin weights version 99/.test(e.message),
    );
    // Batch of 1 and a queue of 1: a third request is refused by name.
    const ac = new AbortController();
    const started = Promise.withResolvers<void>();
    const long = thread.submit(job([1, 2], {
      maxTokens: 1000,
      signal: ac.signal,
      onDelta: () => started.resolve(),
    }));
    await started.promise; // decoding: the batch of 1 is full
    const queued = thread.submit(job([3, 4], { maxTokens: 4 }));
    await assert.rejects(thread.submit(job([5])), (e: unknown) => e instanceof QueueFullError);
    ac.abort();
    const cancelled = await long;
    assert.equal(cancelled.finishReason, "cancelled");
    assert.ok(cancelled.tokenIds.length < 1000);
    assert.equal((await queued).tokenIds.length, 4);

    // A corrupted update is refused and the served version stays; a good one swaps in.
    const blob = m.blob(8);
    await assert.rejects(
      thread.apply(8n, blob.subarray(0, blob.length - 100), {}),
      /Cannot load weights v8/,
    );
    assert.equal(thread.current?.version, 7n);
    const config = await thread.apply(8n, blob, {});
    assert.equal(JSON.parse(config).vocabSize, m.config.vocabSize);
    assert.equal(thread.current?.version, 8n);
    const r = await thread.submit(job([1, 2, 3]));
    assert.ok(r.tokenVersions.every((v) => v === 8n));
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.submit(job([1])), /draining/);
});

Deno.test("EngineThread without weights refuses by name, and a bad file fails the start", async () => {
  const { dir, options } = await testCoreFiles();
  const thread = await EngineThread.start(options({ weightsFile: "" }));
  try {
    assert.equal(thread.current, null);
    await assert.rejects(thread.submit(job([1])), (e: unknown) => e instanceof NoWeightsError);
  } finally {
    await thread.close();
  }
  await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array(64));
  await assert.rejects(
    EngineThread.start(options({ weightsFile: `${dir}/bad.safetensors` })),
    /safetensors|header|Cannot/i,
  );
});
