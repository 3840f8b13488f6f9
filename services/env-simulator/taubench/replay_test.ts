import assert from "node:assert/strict";
import { loadTasks } from "./data.ts";
import {
  compareGold,
  readGoldOracle,
  replayGoldTask,
  replayGoldTasks,
  replayHistorical,
} from "./replay.ts";

const ORACLE = new URL("../testdata/taubench_v1_gold_replay_even.jsonl.gz", import.meta.url)
  .pathname;

Deno.test("replayGoldTasks() matches the reference oracle on every task of the even half", () => {
  const oracle = readGoldOracle(ORACLE);
  assert.equal(oracle.size, 343);
  const summary = replayGoldTasks({ onlyOracle: true }, oracle);
  assert.deepEqual(summary.failures, []);
  assert.equal(summary.tasks, 343);
  assert.equal(summary.parityTotal, 343);
  assert.equal(summary.parityOk, 343);
  assert.equal(summary.rewardOk, 343);
});

Deno.test("compareGold() localises the first differing output", () => {
  const oracle = readGoldOracle(ORACLE).get("airline/test/0")!;
  const replay = replayGoldTask("airline", loadTasks("airline", "test")[0]!);
  assert.equal(compareGold(replay, oracle), undefined);
  const broken = {
    ...replay,
    actions: replay.actions.map((a, i) => i === 0 ? { ...a, output: a.output + "x" } : a),
  };
  assert.match(compareGold(broken, oracle)!, /^action 0 .* output differs/);
});

Deno.test("replayHistorical() reproduces all 200 recorded gpt-4o airline rewards and tool outputs", async () => {
  const results = await replayHistorical();
  assert.equal(results.length, 200);
  const mismatched = results.filter((r) => r.reward !== r.recordedReward);
  assert.deepEqual(mismatched, []);
  assert.equal(results.filter((r) => r.reward === 1).length, 84);
  // Every recorded tool output except get_user_details (pre-`state` data) is byte-identical.
  assert.deepEqual(results.flatMap((r) => r.outputMismatches), []);
  assert.equal(results.reduce((n, r) => n + r.outputsCompared, 0), 1044);
});
