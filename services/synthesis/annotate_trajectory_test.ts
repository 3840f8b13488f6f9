import assert from "node:assert/strict";
import { Executor, listTasks, parseCall } from "@parlmt/bfcl";
import { parsePyJson, PyDict } from "@parlmt/pycompat";
import { annotate, renderProgress } from "./annotate.ts";
import {
  annotateTrajectory,
  type TrajectoryInput,
  verifyTrajectoryAnnotation,
  verifyTrajectoryStep,
} from "./annotate_trajectory.ts";
import { bfclTraceInput } from "./bfcl_source.ts";
import { verifyAnnotation } from "./verify.ts";
import { parseProgress } from "@parlmt/tokenizer";

/** A BFCL task's ground truth replayed as the trajectory a perfect policy would produce. */
function replayed(id: string): TrajectoryInput {
  const task = listTasks().find((t) => t.id === id)!;
  const input = bfclTraceInput(task);
  const ex = new Executor(input.classes, input.initialConfig, input.longContext);
  return {
    ...input,
    executed: input.calls.map((turn) =>
      turn.map((call) => ({ call, output: ex.executeParsed(parseCall(call)) }))
    ),
    groundTruth: input.calls,
  };
}

Deno.test("annotateTrajectory() on replayed BFCL ground truth gives the task's own blocks", () => {
  let same = 0;
  let steps = 0;
  for (const id of ["multi_turn_base_0", "multi_turn_base_5", "multi_turn_miss_param_3"]) {
    const tr = replayed(id);
    const ann = annotateTrajectory(tr);
    const verdicts = verifyTrajectoryAnnotation(ann);
    assert.deepEqual(verdicts.filter((v) => !v.ok), [], id);
    assert.deepEqual(ann.mismatches, []);
    const task = annotate({ ...tr, calls: tr.groundTruth });
    assert.ok(verifyAnnotation(task, tr.user).every((v) => v.ok));
    assert.equal(ann.steps.length, task.steps.length);
    ann.steps.forEach((s, i) => {
      steps++;
      if (s.progress.text === task.steps[i]!.progress.text) same++;
      else assert.match(s.progress.text, /-> failed/, "only failed calls are worded differently");
    });
    // At each call step the next ground-truth call is expected (or unknown yet).
    ann.steps.forEach((s, i) => {
      if (s.calls.length > 0 && ann.expected[i]) assert.equal(ann.expected[i], s.calls[0]);
    });
  }
  assert.ok(same > steps * 0.8, `${same}/${steps}`);
});

const FS = {
  GorillaFileSystem: {
    root: {
      ws: {
        type: "directory",
        contents: {
          docs: { type: "directory", contents: { "a.txt": { type: "file", content: "hi there" } } },
        },
      },
    },
  },
};

Deno.test("annotateTrajectory() with a wrong call claims only what was returned", () => {
  const input: TrajectoryInput = {
    id: "wrong",
    classes: ["GorillaFileSystem"],
    initialConfig: parsePyJson(JSON.stringify(FS)) as PyDict,
    longContext: false,
    user: [["find a and show it"]],
    executed: [[
      { call: "cd(folder='nope')", output: "" },
      { call: "cat(file_name='a.txt')", output: "" },
    ]],
    groundTruth: [["find(path='.', name='a')", "cd(folder='docs')", "cat(file_name='a.txt')"]],
  };
  const ann = annotateTrajectory(input);
  assert.equal(ann.steps.length, 3);
  assert.ok(verifyTrajectoryAnnotation(ann).every((v) => v.ok));
  const last = ann.steps[2]!.progress;
  assert.deepEqual(last.summary, [
    "done: cd(folder='nope') -> failed",
    "done: cat(file_name='a.txt') -> failed",
  ]);
  // Nothing from the ground truth's results (the match ./docs/a.txt, the file content).
  assert.doesNotMatch(last.text, /docs\/a\.txt|hi there|matches/);
  // cat matched the last ground-truth call; find and cd remain, cd's folder not known yet.
  assert.deepEqual(last.plan, ["find(path='.', name='a')", "cd(folder=?)"]);
  assert.equal(ann.expected[2], "find(path='.', name='a')");

  // A block that claims the failed call succeeded, or a fact never returned, is rejected.
  const okClaim = renderProgress(["done: cd(folder='nope') -> ok", last.summary[1]!], last.plan);
  assert.match(verifyTrajectoryStep(ann, 2, okClaim).reasons.join("\n"), /but cd failed/);
  const fact = renderProgress([...last.summary, "fact: find.matches=./docs/a.txt"], last.plan);
  assert.match(verifyTrajectoryStep(ann, 2, fact).reasons.join("\n"), /no executed find returned/);
  const { summary } = parseProgress(last.text)!;
  const shortPlan = renderProgress(summary, ["find(path='.', name='a')"]);
  assert.match(verifyTrajectoryStep(ann, 2, shortPlan).reasons.join("\n"), /2 ground-truth/);

  // A recorded output that differs from the replay is reported.
  const lied = annotateTrajectory({
    ...input,
    executed: [[{ call: "cd(folder='nope')", output: '{"current_working_directory": "nope"}' }]],
  });
  assert.match(verifyTrajectoryAnnotation(lied)[0]!.reasons.join("\n"), /differs from replay/);
});
