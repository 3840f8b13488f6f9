import assert from "node:assert/strict";
import { groupAdvantages, isZeroVariance, sampleStd, turnLevelAdvantages } from "./advantages.ts";

function close(a: readonly number[], b: readonly number[], tol = 1e-9) {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= tol, `index ${i}: ${x} vs ${b[i]}`));
}

Deno.test("groupAdvantages() on hand-computed examples", () => {
  // rewards 1, 0, 0, 1: mean 0.5, sample std sqrt(1/3)
  const r = [1, 0, 0, 1];
  const s = Math.sqrt(1 / 3);
  close(groupAdvantages(r, "grpo", { eps: 0 }), [0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s]);
  close(groupAdvantages(r, "dr_grpo"), [0.5, -0.5, -0.5, 0.5]);
  // RLOO: 1 - mean(0,0,1) = 2/3 ; 0 - mean(1,0,1) = -2/3
  close(groupAdvantages(r, "rloo"), [2 / 3, -2 / 3, -2 / 3, 2 / 3]);
  // rewards 3, 1, 2 → mean 2; RLOO: 3 - 1.5, 1 - 2.5, 2 - 2
  close(groupAdvantages([3, 1, 2], "rloo"), [1.5, -1.5, 0]);
  close(groupAdvantages([3, 1, 2], "grpo", { eps: 0 }), [1, -1, 0]);
});

Deno.test("groupAdvantages() of a zero-variance group is zero everywhere", () => {
  for (const e of ["grpo", "dr_grpo", "rloo"] as const) {
    close(groupAdvantages([0.7, 0.7, 0.7], e), [0, 0, 0]);
  }
  assert.ok(isZeroVariance([1, 1, 1]));
  assert.ok(!isZeroVariance([1, 1, 0.9]));
});

Deno.test("groupAdvantages() matches a plain-loop reference on random groups", () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 200; trial++) {
    const n = 2 + Math.floor(rand() * 7);
    const r = Array.from({ length: n }, () => Math.round(rand() * 10) / 10);
    // Reference, written as explicit loops.
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r[i]!;
    const m = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (r[i]! - m) * (r[i]! - m);
    const std = Math.sqrt(sq / (n - 1));
    const grpo: number[] = [], rloo: number[] = [];
    for (let i = 0; i < n; i++) {
      grpo.push((r[i]! - m) / (std + 1e-6));
      let others = 0;
      for (let j = 0; j < n; j++) if (j !== i) others += r[j]!;
      rloo.push(r[i]! - others / (n - 1));
    }
    close(groupAdvantages(r, "grpo"), grpo, 1e-9);
    close(groupAdvantages(r, "rloo"), rloo, 1e-9);
    assert.ok(Math.abs(sampleStd(r) - std) < 1e-12);
  }
});

Deno.test("turnLevelAdvantages() uses the mean of the rollouts that reached each turn", () => {
  const turns = [[1, 0, 1], [0, 0], [1, 1, 0]];
  const traj = [0.5, -1, 0.5];
  // baselines: t0 = 2/3, t1 = 1/3, t2 = 1/2 (two rollouts reached it)
  const got = turnLevelAdvantages(turns, traj, 1);
  close(got[0]!, [0.5 + 1 / 3, 0.5 - 1 / 3, 0.5 + 0.5]);
  close(got[1]!, [-1 - 2 / 3, -1 - 1 / 3]);
  close(got[2]!, [0.5 + 1 / 3, 0.5 + 2 / 3, 0.5 - 0.5]);
});

Deno.test("advantages reject bad input with clear errors", () => {
  assert.throws(() => groupAdvantages([], "grpo"), /empty group/);
  assert.throws(() => groupAdvantages([1, NaN], "grpo"), /reward NaN is not finite/);
  assert.throws(() => groupAdvantages([1, 2], "ppo" as never), /Unknown advantage estimator "ppo"/);
  assert.throws(() => turnLevelAdvantages([[1]], [1, 2]), /1 rollouts but 2 advantages/);
});
