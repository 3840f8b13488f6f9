/**
 * Ground-truth replay throughput of the BFCL environments, in-process.
 * Prints the median steps/s over several runs (a step = one executed call) and the ratio
 * to a baseline measured in the same run (JSON parse + stringify of each task's config).
 * @module
 */
import { pyJsonDumps } from "@parlmt/pycompat";
import { Executor } from "../services/env-simulator/executor.ts";
import { listTasks } from "../services/env-simulator/tasks.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const tasks = listTasks();
  const runs = 5;
  const rates: number[] = [];
  const baseRates: number[] = [];
  for (let r = 0; r < runs; r++) {
    let steps = 0;
    const t0 = performance.now();
    for (const task of tasks) {
      const ex = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
      for (const calls of task.groundTruth) steps += ex.executeStrings(calls).length;
    }
    rates.push(steps / ((performance.now() - t0) / 1000));
    const t1 = performance.now();
    for (const task of tasks) JSON.parse(JSON.stringify(pyJsonDumps(task.initialConfig)));
    baseRates.push(tasks.length / ((performance.now() - t1) / 1000));
  }
  const m = median(rates);
  console.log(
    `bfcl ground-truth replay: ${
      Math.round(m)
    } steps/s (median of ${runs} runs, ${tasks.length} tasks)`,
  );
  console.log(
    `baseline config JSON round-trip: ${
      Math.round(median(baseRates))
    } tasks/s; ratio steps/s : tasks/s = ${(m / median(baseRates)).toFixed(3)}`,
  );
}

if (import.meta.main) main();
