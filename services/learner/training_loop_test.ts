import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TaskSchema, TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { decodeWeights, encodeWeights, loadCheckpoint } from "@parlmt/model";
import { Logger } from "@parlmt/log";
import { tinyPolicy } from "./_tiny_policy_test_util.ts";
import { Coordinator, listSource } from "./coordinator.ts";
import { DEFAULT_REWARD_WEIGHTS } from "./rewards.ts";
import { ScalarLog } from "./scalar_log.ts";
import type { EncodedExample } from "./sft_data.ts";
import { AVERAGE_MODEL, TrainingLoop, type TrainingLoopOptions } from "./training_loop.ts";

const quiet = new Logger({ service: "test", sink: () => {} });

/** A group of two rollouts submitted through real leases, one successful. */
async function submitGroup(coordinator: Coordinator, prompt: number[]) {
  const leases = await coordinator.lease("a", 2);
  assert.equal(leases.length, 2);
  for (const [i, lease] of leases.entries()) {
    const ok = i === 0;
    await coordinator.submit(create(TrajectorySchema, {
      id: `tr-${lease.leaseId}`,
      leaseId: lease.leaseId,
      groupId: lease.groupId,
      indexInGroup: lease.indexInGroup,
      taskId: lease.taskId,
      turns: [{
        steps: [{
          generation: { promptTokenIds: prompt, tokenIds: [ok ? 5 : 6], logprobs: [-2.7] },
          calls: [{ name: "ls", source: ok ? "ls()" : "pwd()" }],
          results: [{ isError: false }],
        }],
      }],
      check: { success: ok, turns: [{ stateOk: ok, responseOk: ok }] },
      taskTurns: [{ groundTruthCalls: ["ls()"] }],
    }));
  }
}

/** Loop options over the tiny model: one group of 2 per update, publish and checkpoint each. */
function loopOptions(
  dir: string,
  initModel: Uint8Array,
  extra: Partial<TrainingLoopOptions> = {},
): TrainingLoopOptions {
  return {
    dir,
    initModel,
    batchSize: 2,
    seqLen: 4,
    lr: 0.01,
    klCoef: 0,
    groupsPerStep: 1,
    publishEvery: 1,
    checkpointEvery: 1,
    canaryIds: [1, 2],
    estimator: "grpo",
    rewardWeights: DEFAULT_REWARD_WEIGHTS,
    canonicalize: (c) => c,
    filterZeroVariance: true,
    turnLevelWeight: 0,
    padId: 0,
    ...extra,
  };
}

async function runOneUpdate(dir: string, sft: boolean, initVersion = 0, updateEpochs = 1) {
  const prompt = [1, 2, 3];
  const { config, weights, dispose } = await tinyPolicy(4, prompt);
  const task = create(TaskSchema, { id: "t", turns: [{ groundTruthCalls: ["ls()"] }] });
  const coordinator = await Coordinator.open({
    dir,
    source: listSource([task]),
    groupSize: 2,
  });
  const scalars = await ScalarLog.open();
  const rows: EncodedExample[] = [{
    example: { id: "s", tools: [], messages: [], target: "" },
    inputIds: [1, 2, 3],
    targets: [2, 3, 5],
    lossMask: [0, 0, 1],
    prompt: [1, 2, 3],
  }];
  const opts = loopOptions(dir, encodeWeights(config, weights, initVersion), {
    seed: 9,
    updateEpochs,
    sft: sft ? { rows } : undefined,
  });
  const loop = await TrainingLoop.open(opts, coordinator, scalars, quiet);
  const openedVersion = loop.weightsVersion;
  await submitGroup(coordinator, prompt);
  const stop = new AbortController();
  const run = loop.run(stop.signal);
  while (loop.step < 1) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await run;
  const latest = scalars.latest();
  const versions = { opened: openedVersion, afterUpdate: loop.weightsVersion };
  const checkpoint = await loadCheckpoint(`${dir}/checkpoint.safetensors`);
  // Re-opening restores the PRNG: a checkpoint right away writes the same state back.
  const again = await TrainingLoop.open(opts, coordinator, await ScalarLog.open(), quiet);
  await again.checkpoint();
  const reloaded = await loadCheckpoint(`${dir}/checkpoint.safetensors`);
  coordinator.close();
  scalars.close();
  await dispose();
  return { latest, checkpoint, reloaded, versions };
}

Deno.test("TrainingLoop: the policy update shuffles with a PRNG whose state is checkpointed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { latest, checkpoint, reloaded } = await runOneUpdate(dir, false);
    assert.ok(Number.isFinite(latest["losses/policy"]), JSON.stringify(latest));
    assert.equal(latest["losses/sft"], undefined);
    assert.equal(checkpoint.rngState.length, 4);
    assert.deepEqual(reloaded.rngState, checkpoint.rngState);
    assert.equal(reloaded.step, checkpoint.step);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TrainingLoop: --update-epochs passes over an update's samples that many times", async () => {
  const steps: number[] = [];
  for (const epochs of [1, 3]) {
    const dir = await Deno.makeTempDir();
    try {
      const { latest, checkpoint } = await runOneUpdate(dir, false, 0, epochs);
      assert.ok(Number.isFinite(latest["losses/clip_fraction"]), JSON.stringify(latest));
      steps.push(checkpoint.step);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  // One update of a group of 2 samples in batches of 2: one optimizer step per epoch.
  assert.deepEqual(steps, [1, 3]);
});

Deno.test("TrainingLoop arm sft: the update trains supervised rows and still logs rewards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { latest, checkpoint } = await runOneUpdate(dir, true);
    assert.ok(Number.isFinite(latest["losses/sft"]), JSON.stringify(latest));
    assert.equal(latest["losses/policy"], undefined);
    assert.equal(latest["charts/success_rate"], 0.5);
    assert.equal(latest["perf/samples"], 2, "one batch of 2 rows for the group's 2 samples");
    assert.equal(checkpoint.rngState.length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TrainingLoop: versions go on from the starting model's, and survive a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // An SFT model of 1200 steps is version 1200: a policy server started from that file would
    // ignore versions 1, 2, ...; the learner's first publication must be 1201.
    const { versions, checkpoint } = await runOneUpdate(dir, false, 1200);
    assert.deepEqual(versions, { opened: 1201n, afterUpdate: 1202n });
    assert.equal(checkpoint.extra.weightsVersion, "1202");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TrainingLoop averageDecay: finish() publishes the running average, and it survives a restart", async () => {
  const dir = await Deno.makeTempDir();
  const prompt = [1, 2, 3];
  const { config, weights, dispose } = await tinyPolicy(4, prompt);
  const task = create(TaskSchema, { id: "t", turns: [{ groundTruthCalls: ["ls()"] }] });
  const coordinator = await Coordinator.open({ dir, source: listSource([task]), groupSize: 2 });
  const opts = loopOptions(dir, encodeWeights(config, weights, 0), {
    lr: 0.05,
    averageDecay: 0.5,
  });
  try {
    const loop = await TrainingLoop.open(opts, coordinator, await ScalarLog.open(), quiet);
    const run = loop.run(new AbortController().signal);
    // The weights after each update, from the checkpoint written at its end.
    const after = [];
    for (const k of [1, 2]) {
      await submitGroup(coordinator, prompt);
      let ck;
      for (;;) {
        ck = await loadCheckpoint(`${dir}/checkpoint.safetensors`).catch(() => undefined);
        if (ck?.extra.learnerStep === k) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      after.push(ck.weights);
    }
    const done = await loop.finish();
    await run; // finish() ended the loop
    // Opened as v1, one version per update, then the average as v4.
    assert.deepEqual(done, { step: 2, weightsVersion: 4n, averaged: true });
    assert.deepEqual(await loop.finish(), done, "idempotent");
    // Two updates: the first is copied, the second averaged in with min(0.5, 1 - 1/2).
    const avg = decodeWeights(await Deno.readFile(`${dir}/${AVERAGE_MODEL}`));
    assert.equal(avg.version, 4);
    let moved = 0;
    for (const [name, t] of avg.weights) {
      const a = after[0]!.get(name)!.data as Float32Array;
      const b = after[1]!.get(name)!.data as Float32Array;
      (t.data as Float32Array).forEach((x, i) => {
        assert.ok(Math.abs(x - (0.5 * a[i]! + 0.5 * b[i]!)) < 1e-6, `${name}[${i}]`);
        moved = Math.max(moved, Math.abs(a[i]! - b[i]!));
      });
    }
    assert.ok(moved > 1e-4, "the two updates changed the weights");
    const ck = await loadCheckpoint(`${dir}/checkpoint.safetensors`);
    assert.deepEqual(ck.average, avg.weights);
    assert.equal(ck.extra.averagedUpdates, 2);
    assert.equal(ck.extra.weightsVersion, "4");
    // A restarted learner resumes the average (and publishes above the final version).
    const again = await TrainingLoop.open(opts, coordinator, await ScalarLog.open(), quiet);
    assert.equal(again.weightsVersion, 5n);
    assert.deepEqual(await again.finish(), { step: 2, weightsVersion: 6n, averaged: true });
    assert.deepEqual(
      decodeWeights(await Deno.readFile(`${dir}/${AVERAGE_MODEL}`)).weights,
      avg.weights,
    );
  } finally {
    coordinator.close();
    await dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TrainingLoop without averaging: finish() publishes the last weights; bad decay refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { checkpoint, versions } = await runOneUpdate(dir, false);
    assert.equal(checkpoint.average, undefined);
    assert.deepEqual(versions, { opened: 1n, afterUpdate: 2n });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const { config, weights, dispose } = await tinyPolicy(4, [1]);
  const dir2 = await Deno.makeTempDir();
  const coordinator = await Coordinator.open({ dir: dir2, source: listSource([]), groupSize: 2 });
  try {
    const base = loopOptions(dir2, encodeWeights(config, weights, 0));
    await assert.rejects(
      TrainingLoop.open({ ...base, averageDecay: 1 }, coordinator, await ScalarLog.open(), quiet),
      /Cannot average weights with decay 1/,
    );
    const loop = await TrainingLoop.open(base, coordinator, await ScalarLog.open(), quiet);
    assert.deepEqual(await loop.finish(), { step: 0, weightsVersion: 2n, averaged: false });
    await assert.rejects(Deno.stat(`${dir2}/${AVERAGE_MODEL}`), Deno.errors.NotFound);
  } finally {
    coordinator.close();
    await dispose();
    await Deno.remove(dir2, { recursive: true });
  }
});
