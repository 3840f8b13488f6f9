/**
 * `deno task experiment`: the ablation. Runs the arms (`sft`, `mt-grpo`, `pag+mt-grpo`,
 * `pag-rl`) with several seeds at equal compute (the same SFT steps, the same wall-clock RL
 * budget; the `sft` arm spends its budget on more supervised batches), evaluates each on the
 * held-out split, and writes a table with 95% confidence intervals and a plot.
 *
 *   deno task experiment [--arms a,b] [--seeds 1,2] [any `deno task demo` flag]
 *
 * Arms whose SFT data agree (`sft` and `pag-rl` both start from the progress-context PAG model)
 * share one curriculum and SFT model per seed: the later arm reuses the earlier one's
 * (`--from`), so their comparison starts from the very same weights.
 *
 * The interval of an arm pools its seeds' held-out tasks and resamples tasks within each seed
 * (bootstrap); the "vs SFT start" column is the paired difference to the arm's own SFT model.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exitOnSignals } from "@parlmt/stack";
import { Prng } from "@parlmt/model";
import { type ArmName, ARMS, armSftData, runPipeline, type RunResult } from "./demo/pipeline.ts";
import { parseDemoArgs } from "./demo.ts";
import { mean, pairedBootstrap, pct, pp, quantile, signed } from "./demo/stats.ts";
import { svgChart } from "./demo/report.ts";

/** Experiment defaults: a shorter RL phase and evaluation per arm and seed than the demo's. */
const SCALE = ["--rl-seconds", "240", "--eval-tasks", "400"];

/** Mean success with a bootstrap interval over tasks (resampled within each seed). */
function successInterval(runs: readonly RunResult[], seed = 7): [number, number, number] {
  const per = runs.map((r) => r.after.map((s) => s.success));
  const rng = new Prng(seed);
  const means: number[] = [];
  for (let k = 0; k < 5000; k++) {
    let s = 0, n = 0;
    for (const xs of per) {
      for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)]!;
      n += xs.length;
    }
    means.push(s / Math.max(1, n));
  }
  means.sort((a, b) => a - b);
  return [mean(per.flat()), quantile(means, 0.025), quantile(means, 0.975)];
}

if (import.meta.main) {
  const { values, tokens } = parseArgs({
    args: Deno.args,
    options: { arms: { type: "string" }, seeds: { type: "string" }, out: { type: "string" } },
    strict: false,
    tokens: true,
  });
  const rest = tokens.filter((t) =>
    t.kind === "option" && !["arms", "seeds", "out"].includes(t.name)
  )
    .flatMap((t) =>
      t.kind === "option" ? [t.rawName, ...(t.value !== undefined ? [t.value] : [])] : []
    );
  const arms = String(values.arms ?? ARMS.join(",")).split(",") as ArmName[];
  for (const a of arms) {
    if (!ARMS.includes(a)) throw new RangeError(`Invalid flag "--arms": unknown arm "${a}"`);
  }
  const seeds = String(values.seeds ?? "1,2").split(",").map(Number);
  const out = String(values.out ?? ".local/experiment");
  await Deno.mkdir(out, { recursive: true });
  const t0 = performance.now();
  const log = (line: string) =>
    console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  // Ctrl-C or SIGTERM stops every service and script of the current run before exiting.
  exitOnSignals({ onSignal: (s) => log(`${s}: stopping the stack`) });
  const results = new Map<ArmName, RunResult[]>();
  // (seed, SFT data) -> the run folder holding that curriculum and SFT model.
  const sftRuns = new Map<string, string>();
  for (const seed of seeds) {
    for (const arm of arms) {
      log(`arm ${arm}, seed ${seed}`);
      const cfg = parseDemoArgs(
        [...SCALE, ...rest, "--arm", arm, "--seed", String(seed)],
        (l) => log(`  ${l}`),
      );
      const runDir = join(out, `${arm}-seed${seed}`);
      const key = `${seed}:${armSftData(arm)}`;
      const from = sftRuns.get(key);
      const r = await runPipeline({ ...cfg, out: runDir, ...(from ? { from } : {}) });
      if (!from) sftRuns.set(key, runDir);
      results.set(arm, [...(results.get(arm) ?? []), r]);
      const s = mean(r.after.map((x) => x.success));
      log(
        `  ${arm} seed ${seed}: held-out success ${pct(mean(r.before.map((x) => x.success)))} -> ${
          pct(s)
        }`,
      );
    }
  }
  const header =
    "| arm | seeds | SFT start | after RL / extra SFT (95% CI) | vs SFT start (95% CI) | mean reward: start -> after (Δ 95% CI) | per-turn acc. | prompt tokens/turn |";
  const lines = [header, "|---|---|---|---|---|---|---|---|"];
  const bars: Record<string, [number[], number[]]> = {};
  arms.forEach((arm, i) => {
    const runs = results.get(arm) ?? [];
    const [m, lo, hi] = successInterval(runs);
    const d = pairedBootstrap(
      runs.flatMap((r) => r.before.map((s) => s.success)),
      runs.flatMap((r) => r.after.map((s) => s.success)),
    );
    const start = mean(runs.flatMap((r) => r.before.map((s) => s.success)));
    const turn = mean(runs.flatMap((r) => r.after.map((s) => s.turnAccuracy)));
    const prompt = mean(runs.flatMap((r) => r.after.map((s) => s.promptTokens)));
    const before = runs.flatMap((r) => r.before.map((s) => s.reward));
    const after = runs.flatMap((r) => r.after.map((s) => s.reward));
    const dr = pairedBootstrap(before, after);
    lines.push(
      `| ${arm} | ${runs.length} | ${pct(start)} | ${pct(m)} [${pct(lo)}, ${pct(hi)}] | ${
        pp(d.difference)
      } [${pp(d.low)}, ${pp(d.high)}] | ${mean(before).toFixed(3)} -> ${mean(after).toFixed(3)} (${
        signed(dr.difference)
      } [${signed(dr.low)}, ${signed(dr.high)}]) | ${pct(turn)} | ${prompt.toFixed(0)} |`,
    );
    bars[arm] = [[i, i + 0.5], [m, m]];
  });
  const table = lines.join("\n");
  const md =
    `# Ablation (${seeds.length} seeds: ${seeds.join(", ")})\n\nFlags: ${
      [...SCALE, ...rest].join(" ")
    }\n\n${table}\n\n` +
    `Held-out success is the checker's task success on the held-out split (greedy). Intervals: ` +
    `bootstrap over tasks within seeds; "vs SFT start" pairs each task with the arm's own SFT model. ` +
    `Mean reward is the composite reward under the arm's own weights (no awareness term for the ` +
    `sft and mt-grpo arms), so compare it within an arm.\n`;
  await Deno.writeTextFile(join(out, "experiment.md"), md);
  await Deno.writeTextFile(
    join(out, "experiment.html"),
    `<!doctype html><meta charset="utf-8"><title>PARL-MT ablation</title><body style="font:14px system-ui;margin:24px">` +
      `<pre>${md.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</pre>` +
      svgChart("held-out success by arm (x = arm index)", bars) +
      Object.entries(Object.fromEntries(arms.map((a) => [a, results.get(a) ?? []]))).map((
        [arm, runs],
      ) =>
        svgChart(
          `${arm}: mean reward per update`,
          Object.fromEntries(runs.map((r, k) => [`seed ${seeds[k]}`, [
            r.learnerEvents.map((e) => e.step),
            r.learnerEvents.map((e) => e.scalars["charts/reward_mean"] ?? NaN),
          ]])),
        )
      ).join("") + `</body>`,
  );
  console.log("\n" + table);
  console.log(`\nwritten: ${join(out, "experiment.md")}, ${join(out, "experiment.html")}`);
}
