import assert from "node:assert/strict";
import { dbHash, loadTasks, TauDb } from "../env-simulator/taubench/mod.ts";
import { pristineTables } from "../env-simulator/taubench/data.ts";
import { renderProgress } from "./annotate.ts";
import { parseProgress } from "@parlmt/tokenizer";
import {
  annotateTau,
  annotateTauById,
  annotateTauSplit,
  parseTauPlanEntry,
  sameDbState,
  tauStateAt,
  verifyTauAnnotation,
  verifyTauStep,
} from "./taubench_annotate.ts";

Deno.test("annotateTau(): every gold trajectory of the test and dev splits annotates and verifies", () => {
  const counts: Record<string, [number, number, number]> = {};
  for (
    const [domain, split] of [["retail", "test"], ["airline", "test"], ["retail", "dev"]] as const
  ) {
    const r = annotateTauSplit(domain, split);
    assert.deepEqual(r.dropped, {});
    counts[`${domain}/${split}`] = [r.tasks, r.verifiedTasks, r.blocks];
    assert.equal(r.dropRate, 0);
    assert.equal(r.failedBlocks, 0);
  }
  assert.deepEqual(counts, {
    "retail/test": [115, 115, 693],
    "airline/test": [50, 50, 204],
    "retail/dev": [20, 20, 45],
  });
});

Deno.test("annotateTau(): every gold trajectory of the retail train split verifies", () => {
  const r = annotateTauSplit("retail", "train");
  assert.deepEqual([r.tasks, r.verifiedTasks, r.blocks, r.failedBlocks], [500, 500, 1268, 0]);
});

Deno.test("annotateTau(): one block per gold action then the closing reply, in the BFCL format", () => {
  const ann = annotateTau("retail", "test", 0);
  const task = loadTasks("retail", "test")[0]!;
  assert.equal(ann.steps.length, task.actions.length + 1);
  const first = ann.steps[0]!;
  assert.equal(first.calls.length, 1);
  assert.ok(first.target.startsWith("<progress>plan: find_user_id_by_name_zip({"));
  assert.ok(first.target.endsWith(`[${first.calls[0]}]`));
  // Before get_order_details' output, the ids it returns are `?` in the plan.
  assert.match(first.progress.text, /"item_ids": \?/);
  // After it, the block states the key results and the facts the later calls need.
  const third = ann.steps[2]!.progress;
  assert.ok(third.summary.includes(
    'done: get_order_details({"order_id": "#W2378156"}) -> order_id=#W2378156, ' +
      "user_id=yusuf_rossi_9620, status=delivered",
  ));
  assert.ok(
    third.summary.includes("fact: get_order_details.payment_method_id=credit_card_9513926"),
  );
  assert.match(third.plan.at(-1)!, /"payment_method_id": "credit_card_9513926"/);
  const last = ann.steps.at(-1)!;
  assert.deepEqual([last.calls, last.reply, last.progress.plan], [[], "Done.", []]);
  // A task with outputs: the closing reply states them; the reward check passes.
  const i = loadTasks("retail", "test").findIndex((t) => t.outputs.length > 0);
  const withOutputs = annotateTau("retail", "test", i);
  for (const o of withOutputs.trace.task.outputs) {
    assert.ok(withOutputs.steps.at(-1)!.reply.includes(o));
  }
  assert.equal(verifyTauAnnotation(withOutputs).reward, 1);
});

Deno.test("annotateTau(): a transfer to a human ends the trajectory (no closing reply)", () => {
  const tasks = loadTasks("airline", "test");
  const i = tasks.findIndex((t) => t.actions.at(-1)?.name === "transfer_to_human_agents");
  assert.ok(i >= 0);
  const ann = annotateTau("airline", "test", i);
  assert.equal(ann.steps.length, tasks[i]!.actions.length);
  assert.ok(ann.steps.at(-1)!.calls[0]!.startsWith("transfer_to_human_agents("));
  assert.ok(verifyTauAnnotation(ann).ok);
});

Deno.test("verifyTauStep() rejects a corrupted plan: wrong argument, unresolved or dropped calls", () => {
  const ann = annotateTau("retail", "test", 0);
  const step = ann.steps[2]!; // before the two get_product_details calls and the exchange
  const { summary, plan } = parseProgress(step.progress.text)!;
  assert.ok(verifyTauStep(ann.trace, step, step.progress.text).ok);

  // A wrong payment method in the exchange: the text differs and the end state is not the gold one.
  const wrongPay = plan.map((e) => e.replace("credit_card_9513926", "gift_card_0000000"));
  const v1 = verifyTauStep(ann.trace, step, renderProgress(summary, wrongPay));
  assert.equal(v1.ok, false);
  assert.match(v1.reasons.join("\n"), /plan entry 3 has payment_method_id="gift_card_0000000"/);
  assert.match(v1.reasons.join("\n"), /does not reproduce the gold end state/);

  // Execution alone catches a wrong item: exchanging another (existing) item of the order.
  const item = ann.trace.steps[1]!.atoms.find((a) =>
    a.key === "item_id" && !plan[2]!.includes(a.value)
  )!;
  const wrongItem = plan.map((e, i) => i === 2 ? e.replace("1151293680", item.value) : e);
  const v2 = verifyTauStep(ann.trace, step, renderProgress(summary, wrongItem));
  assert.match(v2.reasons.join("\n"), /does not reproduce the gold end state/);

  // The next call may not leave an argument `?`; a known value may not be `?` later either.
  const next = plan.map((e, i) => i === 0 ? e.replace('"1656367028"', "?") : e);
  assert.match(
    verifyTauStep(ann.trace, step, renderProgress(summary, next)).reasons.join("\n"),
    /plan entry 1 \(the next call\) leaves "product_id" unresolved/,
  );
  const known = plan.map((e, i) => i === 2 ? e.replace('"#W2378156"', "?") : e);
  assert.match(
    verifyTauStep(ann.trace, step, renderProgress(summary, known)).reasons.join("\n"),
    /plan entry 3 leaves the known value "#W2378156" unresolved/,
  );
  assert.match(
    verifyTauStep(ann.trace, step, renderProgress(summary, plan.slice(0, 2))).reasons.join("\n"),
    /plan has 2 calls, the task needs 3/,
  );
  assert.match(
    verifyTauStep(ann.trace, step, renderProgress(summary, ["get_product_details(oops"]))
      .reasons.join("\n"),
    /does not parse/,
  );
});

Deno.test("verifyTauStep() rejects false summary claims", () => {
  const ann = annotateTau("retail", "test", 0);
  const step = ann.steps[2]!;
  const { summary, plan } = parseProgress(step.progress.text)!;
  const check = (lines: string[]) =>
    verifyTauStep(ann.trace, step, renderProgress(lines, plan)).reasons.join("\n");

  assert.match(
    check(summary.map((l) => l.replace("status=delivered", "status=pending"))),
    /false claim: get_order_details did not return status=pending/,
  );
  assert.match(
    check(summary.map((l) => l.replace("credit_card_9513926", "credit_card_1111111"))),
    /false claim: no executed get_order_details returned payment_method_id=credit_card_1111111/,
  );
  assert.match(check(summary.slice(1)), /is not the next completed step/);
  assert.match(check([...summary, "I feel great"]), /unreadable summary line/);
});

Deno.test("annotateTau() output is byte-identical for the same input", () => {
  const a = JSON.stringify(annotateTau("airline", "test", 7).steps);
  const b = JSON.stringify(annotateTau("airline", "test", 7).steps);
  assert.equal(a, b);
  const r1 = annotateTauById("taubench_retail_test_3");
  const r2 = annotateTauById("taubench_retail_test_3");
  assert.equal(JSON.stringify(r1.verification), JSON.stringify(r2.verification));
});

Deno.test("annotateTauById() checks the id", () => {
  assert.throws(() => annotateTauById("bfcl_base_1"), /Invalid τ-bench task id "bfcl_base_1"/);
  assert.throws(() => annotateTauById("taubench_airline_train_0"), /airline has no train split/);
  assert.throws(
    () => annotateTauById("taubench_retail_test_999"),
    /retail\/test has tasks 0\.\.114/,
  );
  assert.ok(annotateTauById("taubench_airline_test_0").verification.ok);
});

Deno.test("sameDbState() agrees with dbHash() equality", () => {
  const ann = annotateTau("retail", "test", 0);
  const fresh = new TauDb(pristineTables("retail"));
  const states = [fresh, ...ann.trace.steps.map((_, k) => tauStateAt(ann.trace, k + 1))];
  for (const a of states) {
    for (const b of [...states, ann.trace.goldDb]) {
      assert.equal(sameDbState(a, b), dbHash(a) === dbHash(b));
    }
  }
  assert.equal(dbHash(ann.trace.goldDb), ann.trace.goldHash);
});

Deno.test("parseTauPlanEntry() reads `?` values", () => {
  const e = parseTauPlanEntry('f({"a": ?, "b": "x?", "c": [1, 2]})')!;
  assert.equal(e.name, "f");
  assert.deepEqual([...e.unknown], ["a"]);
  assert.equal(e.kwargs.get("b"), "x?");
  assert.equal(parseTauPlanEntry("f(1)"), null);
});
