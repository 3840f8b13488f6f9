import assert from "node:assert/strict";
import { annotate } from "./annotate.ts";
import { synthReply, synthTraceInput } from "./dataset.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "./generate_tasks.ts";
import { judgeSummary, paraphraseProblem, requiredValues } from "./llm_writer.ts";
import { annotationCheckSteps, checkMessages, judgeAnswer } from "./model_check.ts";
import { callFromJson, validateBaseUrl } from "./openai_endpoint.ts";

function task() {
  for (let i = 0; i < 200; i++) {
    const t = generateTask(2, i, "train", { ...DEFAULT_GEN_OPTIONS, classes: ["MessageAPI"] });
    if (t.turns.some((x) => x.intent === "msg.send" && x.calls.length === 2)) return t;
  }
  throw new Error("no task");
}

Deno.test("judgeAnswer() accepts the ground-truth call after a block and rejects the rest", () => {
  const t = task();
  const input = synthTraceInput(t);
  const ann = annotate(input, { noCallReply: synthReply(t) });
  const steps = annotationCheckSteps(ann, input.user, () => []);
  const s = steps.find((x) => x.expected?.startsWith("send_message"))!;
  assert.deepEqual(checkMessages(s).map((m) => m.role), [...s.user.map(() => "user"), "assistant"]);
  // A correct answer, in text or as OpenAI tool_calls rendered back to BFCL syntax.
  assert.deepEqual(judgeAnswer(`${s.block}[${s.expected}]`, s.expected), { ok: true, reasons: [] });
  const m = /^send_message\(receiver_id='([^']*)', message='([^']*)'\)$/.exec(s.expected!)!;
  const fromJson = callFromJson(
    "send_message",
    JSON.stringify({ receiver_id: m[1], message: m[2] }),
  );
  assert.equal(judgeAnswer(`[${fromJson}]`, s.expected).ok, true);
  assert.match(
    judgeAnswer("[send_message(receiver_id='USR999', message='x')]", s.expected).reasons[0]!,
    /model-aware: the policy called send_message\(receiver_id='USR999'/,
  );
  assert.match(judgeAnswer("ls ls ls", s.expected).reasons[0]!, /no call list/);
  assert.match(judgeAnswer("[a(x=]", s.expected).reasons[0]!, /no call list|does not parse/);
  const reply = steps.find((x) => x.expected === null)!;
  assert.equal(judgeAnswer("<progress>plan: none</progress>Done.", reply.expected).ok, true);
  assert.equal(judgeAnswer("[ls()]", null).ok, false);
});

Deno.test("LLM writer checks: paraphrases keep the values, written summaries must verify", () => {
  const t = task();
  const msg = t.turns[0]!.user[0]!;
  const need = requiredValues(msg, t.turns.flatMap((x) => x.calls));
  assert.ok(need.length > 0, msg);
  const kept = `Please, could you do this for me: ${msg}`;
  assert.equal(paraphraseProblem(msg, kept, need), null);
  const lost = kept.replaceAll(need[0]!, "someone");
  assert.match(paraphraseProblem(msg, lost, need)!, /drops the value/);
  assert.match(paraphraseProblem(msg, "[ls()]", need)!, /markup or calls/);
  assert.match(paraphraseProblem(msg, "", need)!, /empty/);
  assert.match(paraphraseProblem(msg, "x1 y2 z3 q4 ".repeat(5), [])!, /not prose/);

  const input = synthTraceInput(t);
  const ann = annotate(input, { noCallReply: synthReply(t) });
  const ctx = { trace: ann.trace, user: input.user };
  const step = ann.steps.find((s) => s.calls[0]?.startsWith("send_message"))!;
  // The annotator's own lines (a valid rewrite) are accepted; an invented fact is dropped.
  const good = judgeSummary(ctx, step, step.progress.summary.join("\n"));
  assert.equal(good.verdict.ok, true);
  assert.equal(good.block, step.progress.text);
  const bad = judgeSummary(ctx, step, [...step.progress.summary, "fact: x.y=z"].join("\n"));
  assert.equal(bad.verdict.ok, false);
  assert.equal(judgeSummary(ctx, step, "I sent it").verdict.ok, false);
});

Deno.test("validateBaseUrl() names the field", () => {
  assert.equal(validateBaseUrl("http://h:1/v1/", "flag --x"), "http://h:1/v1");
  assert.throws(() => validateBaseUrl("nope", 'field "policy_url"'), /policy_url.*not a URL/);
  assert.throws(() => validateBaseUrl("ftp://h/v1", "flag --x"), /--x.*http or https/);
});
