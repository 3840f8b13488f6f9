import assert from "node:assert/strict";
import { checkMultiTurn } from "./checker.ts";
import { listTasks } from "./tasks.ts";

Deno.test("checkMultiTurn(): a turn left without calls fails in the per-turn diagnostics too", () => {
  const task = listTasks().find((t) => t.groundTruth.length >= 2 && t.groundTruth[0]!.length > 0)!;
  // Turn 0 answered with no calls at all (only text), the rest as the ground truth.
  const model = task.groundTruth.map((calls, i) => (i === 0 ? [] : [[...calls]]));
  const result = checkMultiTurn(task, model);
  assert.equal(result.valid, false);
  assert.equal(result.errorType, "multi_turn:empty_turn_model_response");
  assert.equal(result.turns.length, 1, "the reference stops at the empty turn");
  const [turn] = result.turns;
  assert.equal(turn!.checked, true);
  assert.ok(
    turn!.missingResults.length === task.groundTruth[0]!.length,
    "every ground-truth result of the turn is missing",
  );
  // The same task answered with its ground truth passes every turn.
  const ok = checkMultiTurn(
    task,
    task.groundTruth.map((calls) => (calls.length ? [[...calls]] : [])),
  );
  assert.equal(ok.valid, true);
  assert.ok(ok.turns.every((t) => t.stateMismatches.length === 0 && t.missingResults.length === 0));
});
