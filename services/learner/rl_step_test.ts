import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TaskSchema, TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Trainer } from "@parlmt/model";
import { tinyPolicy } from "./_tiny_policy_test_util.ts";
import { DEFAULT_REWARD_WEIGHTS } from "./rewards.ts";
import { rlStep } from "./rl_step.ts";

Deno.test("rlStep() rewards the successful rollout's tokens and logs every term", async () => {
  const prompt = [1, 2, 3];
  const { config, weights, logp, dispose } = await tinyPolicy(3, prompt);
  const good = 5, bad = 6;
  const before = { good: await logp(weights, good), bad: await logp(weights, bad) };
  const task = create(TaskSchema, { id: "t", turns: [{ groundTruthCalls: ["ls()"] }] });
  const rollout = (id: string, token: number, success: boolean) =>
    create(TrajectorySchema, {
      id,
      groupId: "g",
      turns: [{
        steps: [{
          generation: {
            promptTokenIds: prompt,
            tokenIds: [token],
            logprobs: [token === good ? before.good : before.bad],
          },
          calls: [{ name: "ls", source: success ? "ls()" : "cd(folder='x')" }],
          results: [{ isError: false }],
        }],
      }],
      check: { success, turns: [{ stateOk: success, responseOk: success }] },
    });
  const trainer = await Trainer.create(config, weights, {
    batchSize: 2,
    seqLen: 4,
    objective: { kind: "policy" },
    intraOpNumThreads: 1,
  });
  const flat = {
    groupId: "flat",
    task,
    trajectories: [rollout("f1", good, true), rollout("f2", good, true)],
  };
  const scalars = await rlStep(trainer, [
    { groupId: "g", task, trajectories: [rollout("a", good, true), rollout("b", bad, false)] },
    flat,
  ], {
    estimator: "grpo",
    rewardWeights: DEFAULT_REWARD_WEIGHTS,
    canonicalize: (c) => c,
    filterZeroVariance: true,
    turnLevelWeight: 0,
    lr: 0.01,
    padId: 0,
  });
  assert.equal(scalars["charts/groups_filtered"], 1, "the all-success group carries no signal");
  assert.equal(scalars["charts/groups_kept"], 1);
  assert.equal(scalars["charts/success_rate"], 0.75);
  assert.equal(scalars["rewards/call_f1"], 0.75);
  for (
    const k of [
      "losses/policy",
      "losses/clip_fraction",
      "losses/kl",
      "losses/entropy",
      "losses/grad_norm",
    ]
  ) {
    assert.ok(Number.isFinite(scalars[k]), k);
  }
  const after = { good: await logp(trainer.weights, good), bad: await logp(trainer.weights, bad) };
  assert.ok(after.good > before.good && after.bad < before.bad, JSON.stringify({ before, after }));
  await dispose();
});

Deno.test("rlStep() takes the KL to the reference policy from referenceLogprobs", async () => {
  const prompt = [1, 2, 3];
  const { config, weights, logp, dispose } = await tinyPolicy(4, prompt);
  const task = create(TaskSchema, { id: "t", turns: [{ groundTruthCalls: ["ls()"] }] });
  const behaviour = await logp(weights, 5);
  const rollout = (id: string, success: boolean) =>
    create(TrajectorySchema, {
      id,
      turns: [{
        steps: [{ generation: { promptTokenIds: prompt, tokenIds: [5], logprobs: [behaviour] } }],
      }],
      check: { success },
    });
  const run = async (reference?: number) => {
    const trainer = await Trainer.create(config, weights, {
      batchSize: 2,
      seqLen: 4,
      objective: { kind: "policy", klCoef: 0.5 },
      intraOpNumThreads: 1,
    });
    return await rlStep(trainer, [{
      groupId: "g",
      task,
      trajectories: [rollout("a", true), rollout("b", false)],
    }], {
      estimator: "grpo",
      rewardWeights: DEFAULT_REWARD_WEIGHTS,
      canonicalize: (c) => c,
      filterZeroVariance: false,
      turnLevelWeight: 0,
      lr: 0.001,
      padId: 0,
      referenceLogprobs: reference === undefined
        ? undefined
        : (batch) => Promise.resolve(Array.from(batch.loss_mask!, () => reference)),
    });
  };
  const same = await run();
  assert.ok(Math.abs(same["losses/kl"]!) < 1e-6, `KL to itself ${same["losses/kl"]}`);
  const far = await run(behaviour - 2);
  assert.ok(far["losses/kl"]! > 0.5, `KL to a far reference ${far["losses/kl"]}`);
  await dispose();
});
