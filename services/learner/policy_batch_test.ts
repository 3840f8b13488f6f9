import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Trainer } from "@parlmt/model";
import { tinyPolicy } from "./_tiny_policy_test_util.ts";
import { packPolicyBatch, type PolicySample, trajectorySamples } from "./policy_batch.ts";

Deno.test("trajectorySamples() keeps exact tokens and gives each turn its advantage", () => {
  const t = create(TrajectorySchema, {
    id: "t1",
    turns: [
      {
        steps: [{
          generation: {
            promptTokenIds: [1, 2],
            tokenIds: [3, 4],
            logprobs: [-0.5, -0.25],
            tokenVersions: [7n, 7n],
          },
        }],
      },
      {
        steps: [
          { generation: { promptTokenIds: [1, 2, 3, 4, 9], tokenIds: [5], logprobs: [-1] } },
          { reply: "done" },
        ],
      },
    ],
  });
  const s = trajectorySamples(t, [0.5, -2]);
  assert.deepEqual(s.map((x) => x.tokens), [[1, 2, 3, 4], [1, 2, 3, 4, 9, 5]]);
  assert.deepEqual(s.map((x) => x.advantages), [[0.5, 0.5], [-2]]);
  assert.deepEqual(s[0]!.versions, [7n, 7n]);
  const bad = create(TrajectorySchema, {
    id: "bad",
    turns: [{ steps: [{ generation: { tokenIds: [1, 2], logprobs: [0] } }] }],
  });
  assert.throws(() => trajectorySamples(bad, 1), /2 tokens but 1 logprobs/);
});

Deno.test("packPolicyBatch() masks all but generated targets and truncates the prompt first", () => {
  const s: PolicySample = {
    tokens: [10, 11, 12, 13, 20, 21],
    generatedFrom: 4,
    behaviourLogprobs: [-1, -2],
    advantages: [3, 3],
    versions: [],
  };
  const b = packPolicyBatch([s], { batchSize: 2, seqLen: 4, padId: 0 });
  // T=4 keeps 5 tokens: prompt [11, 12, 13] + generated [20, 21].
  assert.deepEqual(Array.from(b.input_ids!).slice(0, 4), [11, 12, 13, 20]);
  assert.deepEqual(Array.from(b.targets!).slice(0, 4), [12, 13, 20, 21]);
  assert.deepEqual(Array.from(b.loss_mask!), [0, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(b.advantages!).slice(0, 4), [0, 0, 3, 3]);
  assert.deepEqual(Array.from(b.behaviour_logprobs!).slice(0, 4), [0, 0, -1, -2]);
  assert.throws(
    () => packPolicyBatch([s, s, s], { batchSize: 2, seqLen: 4, padId: 0 }),
    /3 samples into a batch of 2/,
  );
});

Deno.test("a policy step moves probability toward the positive-advantage continuation", async () => {
  const T = 4;
  const prompt = [1, 2, 3];
  const { config, weights, logp, dispose } = await tinyPolicy(1, prompt);
  const good = 5, bad = 6;
  const before = { good: await logp(weights, good), bad: await logp(weights, bad) };
  const samples: PolicySample[] = [good, bad].map((token, i) => ({
    tokens: [...prompt, token],
    generatedFrom: prompt.length,
    behaviourLogprobs: [token === good ? before.good : before.bad],
    advantages: [i === 0 ? 1 : -1],
    versions: [],
  }));
  const trainer = await Trainer.create(config, weights, {
    batchSize: 2,
    seqLen: T,
    objective: { kind: "policy", klCoef: 0 },
    intraOpNumThreads: 1,
  });
  const m = await trainer.trainStep(
    packPolicyBatch(samples, { batchSize: 2, seqLen: T, padId: 0 }),
    0.01,
  );
  assert.ok(Number.isFinite(m.loss!) && m.clip_frac === 0, JSON.stringify(m));
  const after = { good: await logp(trainer.weights, good), bad: await logp(trainer.weights, bad) };
  assert.ok(after.good > before.good, `good ${before.good} -> ${after.good}`);
  assert.ok(after.bad < before.bad, `bad ${before.bad} -> ${after.bad}`);
  await dispose();
});
