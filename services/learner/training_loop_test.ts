import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TaskSchema, TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { encodeWeights, loadCheckpoint } from "@parlmt/model";
import { Logger } from "@parlmt/log";
import { tinyPolicy } from "./_tiny_policy_test_util.ts";
import { Coordinator, listSource } from "./coordinator.ts";
import { DEFAULT_REWARD_WEIGHTS } from "./rewards.ts";
import { ScalarLog } from "./scalar_log.ts";
import type { EncodedExample } from "./sft_data.ts";
import { TrainingLoop, type TrainingLoopOptions } from "./training_loop.ts";

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
  const opts: TrainingLoopOptions = {
    dir,
    initModel: encodeWeights(config, weights, initVersion),
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
    seed: 9,
    updateEpochs,
    sft: sft ? { rows } : undefined,
  };
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
