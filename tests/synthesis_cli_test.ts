/** The synth CLI's outputs: byte-identical for the same seed, and loadable by the SFT trainer. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runSynth } from "../services/synthesis/synth.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "../services/synthesis/generate_tasks.ts";
import { loadSftData } from "../services/learner/sft_data.ts";

const FILES = [
  "tasks/train.jsonl",
  "tasks/test.jsonl",
  "full/train.jsonl",
  "full/test.jsonl",
  "progress/train.jsonl",
  "progress/test.jsonl",
  "dataset_card.json",
  "dataset_card.md",
];

Deno.test("synth - same seed, byte-identical output; SFT files load in both context modes", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    const req = {
      seed: 42,
      taskCount: 25,
      testFraction: 0.2,
      options: { ...DEFAULT_GEN_OPTIONS, maxTurns: 8, missParamRate: 0.2, missFuncRate: 0.2 },
      modes: ["full", "progress"] as const,
    };
    const ra = await runSynth(a, req);
    await runSynth(b, req);
    for (const f of FILES) {
      assert.equal(await Deno.readTextFile(join(a, f)), await Deno.readTextFile(join(b, f)), f);
    }
    assert.equal(ra.card.taskCount + ra.card.droppedCount, 25);
    assert.equal(ra.card.splits.test?.tasks, 5);
    for (const mode of ["full", "progress"]) {
      const data = await loadSftData(join(a, mode));
      assert.ok(data.train.length > 0 && data.test.length > 0, mode);
      assert.ok(data.train.every((e) => e.target.startsWith("<progress>")));
    }
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("synth --rl-families: RL tasks use the kept families and have no SFT samples", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const req = {
      seed: 3,
      taskCount: 60,
      testFraction: 0.2,
      options: { ...DEFAULT_GEN_OPTIONS, heldout: "template" as const },
      modes: ["full", "progress"] as const,
      rlFamilies: 1,
    };
    const { card } = await runSynth(dir, req);
    const lines = async (f: string) =>
      (await Deno.readTextFile(join(dir, f))).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const rl = await lines("tasks/rl.jsonl");
    const train = await lines("tasks/train.jsonl");
    assert.ok(
      rl.length > 3 && train.length > 3 * rl.length / 2,
      `${rl.length} rl, ${train.length}`,
    );
    const rlIds = new Set(rl.map((t) => t.id));
    assert.ok([...rlIds].every((id) => id.startsWith("synth_train_")));
    assert.ok(train.every((t) => !rlIds.has(t.id)));
    // The last train family (f3) is RL's alone.
    const family = (id: string) => {
      const index = Number(id.split("_").at(-1));
      return generateTask(req.seed, index, "train", req.options).family;
    };
    assert.deepEqual([...new Set([...rlIds].map(family))], ["f3"]);
    assert.equal(card.splits.rl?.tasks, rl.length);
    assert.deepEqual(card.splits.rl?.samples, {});
    assert.ok(train.every((t) => family(t.id) !== "f3"));
    for (const mode of ["full", "progress"]) {
      const samples = await lines(`${mode}/train.jsonl`);
      assert.ok(samples.length > 0);
      assert.ok(samples.every((s) => !rlIds.has(s.taskId)), `${mode}: an RL task has SFT samples`);
    }
    await assert.rejects(() => runSynth(dir, { ...req, rlFamilies: 4 }), /"rlFamilies".*got 4/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
