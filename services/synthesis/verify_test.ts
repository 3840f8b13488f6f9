import assert from "node:assert/strict";
import { listTasks } from "@parlmt/bfcl";
import { annotate, renderProgress } from "./annotate.ts";
import { bfclTraceInput } from "./bfcl_source.ts";
import { synthReply, synthTraceInput } from "./dataset.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "./generate_tasks.ts";
import { verifyAnnotation, verifyStep } from "./verify.ts";
import { parseProgress } from "@parlmt/tokenizer";

function dependentTask() {
  for (let i = 0; i < 200; i++) {
    const t = generateTask(2, i, "train", { ...DEFAULT_GEN_OPTIONS, classes: ["MessageAPI"] });
    if (t.turns.some((x) => x.intent === "msg.send" && x.calls.length === 2)) return t;
  }
  throw new Error("no dependent task");
}

Deno.test("verifyStep() accepts the annotator's blocks and rejects a corrupted plan and a false claim", () => {
  const task = dependentTask();
  const input = synthTraceInput(task);
  const ann = annotate(input, { noCallReply: synthReply(task) });
  const ctx = { trace: ann.trace, user: input.user };
  assert.ok(verifyAnnotation(ann, input.user).every((v) => v.ok));
  // The step that sends the message: its plan and its summary (the user id) are checked.
  const step = ann.steps.find((s) => s.calls[0]?.startsWith("send_message"))!;
  const { summary, plan } = parseProgress(step.progress.text)!;
  assert.ok(summary.some((l) => l.startsWith("done: get_user_id")));

  const badPlan = renderProgress(summary, [plan[0]!.replace(/message='[^']*'/, "message='wrong'")]);
  const v1 = verifyStep(ctx, step, badPlan);
  assert.equal(v1.ok, false);
  assert.match(v1.reasons.join("\n"), /plan entry 1 has/);

  const dropped = renderProgress(summary, []);
  assert.match(verifyStep(ctx, step, dropped).reasons.join("\n"), /plan has 0 calls/);

  const falseClaim = renderProgress(
    summary.map((l) => l.replace(/user_id=USR\d+/, "user_id=USR999")),
    plan,
  );
  const v2 = verifyStep(ctx, step, falseClaim);
  assert.equal(v2.ok, false);
  assert.match(v2.reasons.join("\n"), /false claim/);

  const invented = renderProgress([...summary, "fact: get_user_id.user_id=USR424242"], plan);
  assert.match(verifyStep(ctx, step, invented).reasons.join("\n"), /false claim: no executed/);

  // The first step of the turn must plan the second call with `?` (the id is not known yet).
  const first = ann.steps.find((s) => s.calls[0]?.startsWith("get_user_id"))!;
  const p1 = parseProgress(first.progress.text)!;
  assert.match(p1.plan[1]!, /receiver_id=\?/);
  const resolved = renderProgress(p1.summary, [p1.plan[0]!, step.calls[0]!]);
  assert.equal(verifyStep(ctx, first, resolved).ok, true, "a known-correct value is fine");
});

Deno.test("all 800 BFCL ground-truth trajectories are annotated and verify", () => {
  let steps = 0;
  const failed: string[] = [];
  const tasks = listTasks();
  assert.equal(tasks.length, 800);
  for (const task of tasks) {
    const input = bfclTraceInput(task);
    const ann = annotate(input);
    const verdicts = verifyAnnotation(ann, input.user);
    steps += verdicts.length;
    if (!verdicts.every((v) => v.ok)) failed.push(task.id);
  }
  assert.deepEqual(failed, []);
  assert.ok(steps > 7000);
});
