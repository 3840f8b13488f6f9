/** The synth CLI's outputs: byte-identical for the same seed, and loadable by the SFT trainer. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runSynth } from "../services/synthesis/synth.ts";
import { DEFAULT_GEN_OPTIONS } from "../services/synthesis/generate_tasks.ts";
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
