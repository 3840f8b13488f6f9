/**
 * The main job end to end at toy scale: `scripts/demo.ts` as a user runs it (synthesis, SFT,
 * held-out evaluation, PAG-RL with real services, evaluation again), then again `--from` the
 * first run's curriculum and SFT model. Checks what a user reads: the last line, the table's
 * numbers in result.json, the report page and the evaluation transcripts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const TINY = [
  "--tasks=120",
  "--n-layer=1",
  "--n-embd=32",
  "--sft-steps=20",
  "--sft-batch=4",
  "--rl-updates=2",
  "--rl-seconds=120",
  "--eval-tasks=12",
  "--actors=1",
  "--actor-concurrency=4",
  "--group-size=2",
  "--groups-per-step=2",
  "--max-tokens=64",
];

/** Runs a script to completion; its stdout lines, and its exit code when `code` is given. */
async function script(path: string, args: string[], code = 0): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, code, stdout + stderr);
  return (stdout + (code === 0 ? "" : stderr)).trimEnd().split("\n");
}

const demo = (args: string[]) => script("scripts/demo.ts", [...TINY, ...args]);

async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: "demo: synth -> SFT -> PAG-RL -> held-out table, then --from the same start",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-demo-" });
    try {
      const first = join(dir, "first");
      const lines = await demo(["--out", first]);
      assert.match(
        lines.at(-1)!,
        /^held-out success: SFT \d+\.\d% -> PAG-RL \d+\.\d% \(95% CI of the difference: \[[+-]\d+\.\d, [+-]\d+\.\d\]\)$/,
      );
      assert.match(lines.at(-2)!, /^held-out mean reward: \d\.\d{3} -> \d\.\d{3} \(95% CI/);
      const result = JSON.parse(await Deno.readTextFile(join(first, "result.json")));
      // RL leases the tasks kept from SFT (--rl-families 1 by default).
      assert.ok(lines.some((l) => l.includes("actors on the RL-only tasks")), lines.join("\n"));
      assert.ok((await jsonLines(join(first, "data", "tasks", "rl.jsonl"))).length > 0);
      assert.equal(result.comparison.a.tasks, 12);
      assert.equal(result.comparison.b.tasks, 12);
      // RL really ran: the learner updated at least the asked number of times and the served
      // weights moved past the SFT model's version (its step count).
      assert.ok(result.rl.steps >= 2, JSON.stringify(result.rl));
      assert.ok(result.rl.weightsVersion > 20, JSON.stringify(result.rl));
      assert.ok(result.rl.trajectories >= 4, JSON.stringify(result.rl));
      // The evaluated PAG-RL model is the learner's running average of the weights (--ema-decay).
      assert.equal(result.rl.averaged, true, JSON.stringify(result.rl));
      assert.ok((await Deno.stat(join(first, "learner", "average.safetensors"))).size > 0);
      const html = await Deno.readTextFile(join(first, "report.html"));
      assert.ok(html.includes('id="headline"') && html.includes("<polyline"));
      // One transcript line per held-out task and model, scored as in the table.
      for (const [file, summary] of [["sft.jsonl", "a"], ["pag-rl.jsonl", "b"]] as const) {
        const records = await jsonLines(join(first, "eval", file));
        assert.equal(records.length, 12, file);
        const success = records.reduce((s, r) => s + (r.success as number), 0) / 12;
        assert.equal(success, result.comparison[summary].success, file);
        for (const r of records) {
          const turns = r.turns as { truth: string[]; steps: { text: string }[] }[];
          assert.ok(turns.length >= 1 && turns[0]!.truth.length >= 1, JSON.stringify(r));
        }
      }

      // eval:heldout scores a weights file on the run's split as the demo does: the average
      // the demo evaluated writes the same episodes; a missing file is named.
      const average = join(first, "learner", "average.safetensors");
      const evalLines = await script("scripts/eval_heldout.ts", [
        "--run",
        first,
        "--weights",
        average,
        "--name",
        "average",
      ]);
      assert.match(
        evalLines.at(-1)!,
        /^held-out success: SFT \d+\.\d% -> average \d+\.\d% \(95% CI/,
      );
      const demoEval = await jsonLines(join(first, "eval", "pag-rl.jsonl"));
      const reEval = await jsonLines(join(first, "eval", "average.jsonl"));
      // Whole records: what the model wrote at each step, its calls, reward and success.
      const byTask = (rs: Record<string, unknown>[]) =>
        Object.fromEntries(rs.map((r) => [r.taskId as string, r]));
      assert.equal(reEval.length, 12);
      assert.deepEqual(byTask(reEval), byTask(demoEval));
      const missing = await script(
        "scripts/eval_heldout.ts",
        ["--run", first, "--weights", join(dir, "nope.safetensors")],
        1,
      );
      assert.match(missing.join("\n"), /Cannot evaluate ".*nope\.safetensors": no such file/);

      const again = join(dir, "again");
      const reuse = await demo(["--out", again, "--from", first, "--rl-updates=1"]);
      assert.ok(reuse.some((l) => l.includes(`reusing the curriculum and SFT model of ${first}`)));
      const second = JSON.parse(await Deno.readTextFile(join(again, "result.json")));
      // The same SFT model on the same held-out tasks scores the same (greedy decoding).
      assert.deepEqual(second.comparison.a, result.comparison.a);
      assert.ok(second.rl.steps >= 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
