import assert from "node:assert/strict";
import { checkGroundTruth, compareWithOracle, readOracle, replayTask } from "./replay.ts";
import { listTasks } from "./tasks.ts";

const ORACLE =
  new URL("./testdata/BFCL_v4_multi_turn_oracle_even.jsonl.gz", import.meta.url).pathname;

Deno.test("replayTask() reproduces every oracle result string and per-turn state", () => {
  const oracle = readOracle(ORACLE);
  assert.equal(oracle.size, 400);
  const failures: string[] = [];
  for (const task of listTasks()) {
    const ref = oracle.get(task.id);
    if (!ref) continue;
    const diff = compareWithOracle(replayTask(task), ref);
    if (diff !== undefined) failures.push(`${task.id}: ${diff}`);
  }
  assert.deepEqual(failures, []);
});

Deno.test("checkMultiTurn() accepts the ground truth of all 800 tasks", () => {
  const tasks = listTasks();
  assert.equal(tasks.length, 800);
  const rejected = tasks.filter((t) => !checkGroundTruth(t)).map((t) => t.id);
  assert.deepEqual(rejected, []);
});
