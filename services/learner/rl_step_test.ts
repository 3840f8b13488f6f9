import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TaskSchema, TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Trainer, TrainerBuckets } from "@parlmt/model";
import { tinyPolicy } from "./_tiny_policy_test_util.ts";
import { DEFAULT_REWARD_WEIGHTS } from "./rewards.ts";
import { rlStep, scoreGroups, trainPolicy } from "./rl_step.ts";

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

Deno.test("trainPolicy() runs each batch in the shortest bucket that holds it", async () => {
  const { config, weights, dispose } = await tinyPolicy(5, [1, 2, 3]);
  const sample = (tokens: number[], from: number) => ({
    tokens,
    generatedFrom: from,
    behaviourLogprobs: tokens.slice(from).map(() => -2),
    advantages: tokens.slice(from).map(() => 1),
    versions: [],
  });
  // A long sample given first: buckets train the short one first, in a bucket of 4.
  const samples = [sample([1, 2, 3, 4, 5, 6, 7], 3), sample([1, 2, 3], 2)];
  const opts = { batchSize: 1, seqLen: 8, objective: { kind: "policy" as const } };
  const plain = await Trainer.create(config, weights, { ...opts, intraOpNumThreads: 1 });
  const buckets = await TrainerBuckets.create(config, weights, {
    ...opts,
    lengths: [4],
    intraOpNumThreads: 1,
  });
  try {
    const a = await trainPolicy(plain, [...samples].reverse(), { lr: 0.01, padId: 0 });
    const b = await trainPolicy(buckets, samples, { lr: 0.01, padId: 0 });
    assert.deepEqual([a["perf/padded_tokens"], b["perf/padded_tokens"]], [16, 12]);
    assert.ok(Math.abs(a["losses/policy"]! - b["losses/policy"]!) < 1e-5, JSON.stringify({ a, b }));
    assert.equal(buckets.step, 2);
  } finally {
    await plain.dispose();
    await buckets.dispose();
    await dispose();
  }
});

Deno.test("scoreGroups() weighs every episode the same with advantageWeighting episode", () => {
  const task = create(TaskSchema, { id: "t", turns: [{ groundTruthCalls: ["ls()"] }] });
  // A one-step success and a three-step failure of 4 tokens a step: per token, the failure
  // pulls as hard as the success; per episode, three times as hard unless balanced.
  const rollout = (id: string, steps: number, success: boolean) =>
    create(TrajectorySchema, {
      id,
      groupId: "g",
      turns: [{
        steps: Array.from({ length: steps }, () => ({
          generation: {
            promptTokenIds: [1, 2],
            tokenIds: [5, 6, 7, 8],
            logprobs: [-1, -1, -1, -1],
          },
          calls: [{ name: "ls", source: success ? "ls()" : "cd(folder='x')" }],
          results: [{ isError: false }],
        })),
      }],
      check: { success, turns: [{ stateOk: success, responseOk: success }] },
    });
  const groups = [{
    groupId: "g",
    task,
    trajectories: [rollout("a", 1, true), rollout("b", 3, false)],
  }];
  const options = {
    estimator: "grpo" as const,
    rewardWeights: DEFAULT_REWARD_WEIGHTS,
    canonicalize: (c: string) => c,
    filterZeroVariance: true,
    turnLevelWeight: 0,
  };
  const pull = (samples: { advantages: number[] }[]) =>
    samples.map((s) => s.advantages.reduce((a, b) => a + b, 0));
  const token = scoreGroups(groups, options).samples;
  assert.equal(token.length, 4);
  const [win, ...losses] = pull(token);
  assert.ok(win! > 0 && losses.every((x) => x < 0));
  assert.ok(Math.abs(losses.reduce((a, b) => a + b, 0) + 3 * win!) < 1e-9, "token: 3x the pull");
  const episode = scoreGroups(groups, { ...options, advantageWeighting: "episode" }).samples;
  const [win2, ...losses2] = pull(episode);
  assert.ok(Math.abs(losses2.reduce((a, b) => a + b, 0) + win2!) < 1e-9, "episode: equal pull");
  // The scale of an episode of mean length (8 tokens) is kept: 4 tokens weigh 2x, 12 weigh 2/3.
  assert.ok(Math.abs(win2! - 2 * win!) < 1e-9);
  // Balancing changes nothing when every episode has the same length.
  const even = [{
    groupId: "g",
    task,
    trajectories: [rollout("c", 2, true), rollout("d", 2, false)],
  }];
  assert.deepEqual(
    scoreGroups(even, { ...options, advantageWeighting: "episode" }).samples.map((s) =>
      s.advantages
    ),
    scoreGroups(even, options).samples.map((s) => s.advantages),
  );
});
