import assert from "node:assert/strict";
import { comb, passHatK } from "./pass_k.ts";

Deno.test("comb() matches math.comb", () => {
  assert.equal(comb(4, 2), 6n);
  assert.equal(comb(5, 0), 1n);
  assert.equal(comb(3, 4), 0n);
  assert.equal(comb(60, 30), 118264581564861424n);
});

Deno.test("passHatK() gives the hand-computed values", () => {
  // 3 tasks x 4 trials; successes c = 4, 2, 0.
  // pass^1 = (4/4 + 2/4 + 0) / 3 = 0.5
  // pass^2 = (6/6 + 1/6 + 0) / 3 = 7/18
  // pass^3 = (4/4 + 0 + 0) / 3 = 1/3
  // pass^4 = (1/1 + 0 + 0) / 3 = 1/3
  const rewards: Record<string, number[]> = {
    a: [1, 1, 1, 1],
    b: [1, 0, 0, 1.0000001],
    c: [0, 0, 0.5, 0],
  };
  const results = Object.entries(rewards).flatMap(([taskId, rs]) =>
    rs.map((reward, trial) => ({ taskId, trial, reward }))
  );
  const r = passHatK(results);
  assert.equal(r.passHatK.length, 4);
  assert.ok(Math.abs(r.passHatK[0]! - 0.5) < 1e-12);
  assert.ok(Math.abs(r.passHatK[1]! - 7 / 18) < 1e-12);
  assert.ok(Math.abs(r.passHatK[2]! - 1 / 3) < 1e-12);
  assert.ok(Math.abs(r.passHatK[3]! - 1 / 3) < 1e-12);
  assert.ok(Math.abs(r.averageReward - (4 + 2.0000001 + 0.5) / 12) < 1e-12);
});

Deno.test("passHatK() with one trial is the success rate", () => {
  const r = passHatK([
    { taskId: 0, trial: 0, reward: 1 },
    { taskId: 1, trial: 0, reward: 0 },
    { taskId: 2, trial: 0, reward: 1 },
    { taskId: 3, trial: 0, reward: 0.999 },
  ]);
  assert.deepEqual(r.passHatK, [0.5]);
});

Deno.test("passHatK() rejects an empty result list", () => {
  assert.throws(() => passHatK([]), RangeError);
});
