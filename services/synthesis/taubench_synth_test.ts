import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSftSample } from "../learner/sft_data.ts";
import { annotateTau } from "./taubench_annotate.ts";
import { tauAnnotateResponse, tauSampleToProto, tauTaskSamples } from "./taubench_samples.ts";
import { parseTauSynthArgs, runTauSynth, tauSynthFiles } from "./taubench_synth.ts";

Deno.test("tauTaskSamples(): both modes per step; progress keeps the policy and the latest block", () => {
  const ann = annotateTau("retail", "test", 0);
  const samples = tauTaskSamples(ann);
  assert.equal(samples.length, ann.steps.length * 2);
  const full = samples.filter((s) => s.mode === "full");
  const prog = samples.filter((s) => s.mode === "progress");
  assert.deepEqual(full.map((s) => s.target), ann.steps.map((s) => s.target));
  assert.equal(full[0]!.context[0]!.role, "system");
  assert.equal(full[0]!.context[1]!.content, ann.trace.task.instruction);
  // Step 3: full has policy, user, then (assistant, tool) x 3; progress has policy, block, tool.
  assert.deepEqual(full[3]!.context.map((m) => m.role), [
    "system",
    "user",
    ...Array(3).fill(["assistant", "tool"]).flat(),
  ]);
  assert.deepEqual(prog[3]!.context.map((m) => m.role), ["system", "assistant", "tool"]);
  assert.equal(prog[3]!.context[1]!.content, ann.steps[2]!.target);
  assert.equal(prog[3]!.context[2]!.name, "get_product_details");
  assert.equal(samples[0]!.id, "taubench_retail_test_0:t0:s0:full");
  assert.equal(tauTaskSamples(ann, { policy: false })[0]!.context[0]!.role, "user");
  assert.equal(tauTaskSamples(ann, { modes: ["progress"] }).length, ann.steps.length);
});

Deno.test("tauSampleToProto(): the SFT trainer loads the samples", async () => {
  const { toJsonString } = await import("@bufbuild/protobuf");
  const { SftSampleSchema } = await import("@parlmt/gen/parlmt/v1/synthesis_pb.ts");
  const ann = annotateTau("airline", "test", 0);
  for (const s of tauTaskSamples(ann)) {
    const ex = parseSftSample(toJsonString(SftSampleSchema, tauSampleToProto(s)), s.id);
    assert.equal(ex.target, s.target);
    assert.deepEqual(ex.messages.map((m) => m.role), s.context.map((m) => m.role));
    assert.equal(ex.tools.length, 14);
  }
});

Deno.test("parseTauSynthArgs() checks its flags", () => {
  const { out, req } = parseTauSynthArgs(["--taubench", "retail", "--out", "/tmp/x"]);
  assert.equal(out, "/tmp/x");
  assert.deepEqual(req, {
    domain: "retail",
    splits: ["test", "train", "dev"],
    modes: ["full", "progress"],
    policy: true,
  });
  assert.throws(() => parseTauSynthArgs(["--out", "x"]), /Missing flag "--taubench"/);
  assert.throws(() => parseTauSynthArgs(["--taubench", "retail"]), /Missing flag "--out"/);
  assert.throws(
    () => parseTauSynthArgs(["--taubench", "bank", "--out", "x"]),
    /Invalid flag "--taubench"/,
  );
  assert.throws(
    () => parseTauSynthArgs(["--taubench", "airline", "--out", "x", "--split", "train"]),
    /Invalid flag "--split"/,
  );
  assert.throws(
    () => parseTauSynthArgs(["--taubench", "airline", "--out", "x", "--modes", "all"]),
    /Invalid flag "--modes"/,
  );
});

Deno.test("runTauSynth(): writes tasks, both modes and a report; byte-identical on a rerun", async () => {
  const req = {
    domain: "retail",
    splits: ["dev"],
    modes: ["full", "progress"],
    policy: true,
  } as const;
  const dir = await Deno.makeTempDir();
  try {
    const report = await runTauSynth(dir, req);
    assert.deepEqual(
      [report.tasks, report.verifiedTasks, report.blocks, report.failedBlocks, report.samples],
      [20, 20, 45, 0, 90],
    );
    assert.equal(report.dropRate, 0);
    const again = tauSynthFiles(req).files;
    assert.deepEqual([...again.keys()].sort(), [
      "full/dev.jsonl",
      "progress/dev.jsonl",
      "report.json",
      "tasks/dev.jsonl",
    ]);
    for (const [path, text] of again) assert.equal(await Deno.readTextFile(join(dir, path)), text);
    const lines = (await Deno.readTextFile(join(dir, "progress/dev.jsonl"))).trim().split("\n");
    assert.equal(lines.length, 45);
    const task = JSON.parse(
      (await Deno.readTextFile(join(dir, "tasks/dev.jsonl"))).split("\n")[0]!,
    );
    assert.equal(task.id, "taubench_retail_dev_0");
    assert.equal(task.benchmark, "BENCHMARK_TAUBENCH");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tauAnnotateResponse(): the Annotate RPC's answer for a τ-bench task id", async () => {
  const { create } = await import("@bufbuild/protobuf");
  const { AnnotateResponseSchema } = await import("@parlmt/gen/parlmt/v1/synthesis_pb.ts");
  const res = create(AnnotateResponseSchema, tauAnnotateResponse("taubench_retail_test_0"));
  assert.equal(res.ok, true);
  assert.equal(res.steps.length, 6);
  assert.ok(res.steps.every((s) => s.verification?.ok));
  assert.match(res.steps[2]!.progress!.text, /^<progress>done: find_user_id_by_name_zip/);
  assert.throws(() => tauAnnotateResponse("taubench_bank_test_0"), RangeError);
});
