/**
 * `deno task bench:env`: ground-truth replay throughput of the BFCL environments, in-process
 * and through a running env-simulator over gRPC with 1 and 8 concurrent clients (each client
 * its own channel; every task a fresh session: CreateSession, Execute per turn, GetState,
 * AdvanceTurn, Evaluate, CloseSession). A step is one executed call. Medians of several runs;
 * the in-process rate is the reference for the gRPC rates, and a JSON round-trip baseline is
 * measured in the same run too.
 * @module
 */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { createClient } from "@parlmt/grpc";
import { pyJsonDumps } from "@parlmt/pycompat";
import { spawnService } from "@parlmt/stack";
import { Executor } from "../services/env-simulator/executor.ts";
import { replayTaskOverGrpc } from "../services/env-simulator/replay_grpc.ts";
import { type BfclTask, listTasks } from "../services/env-simulator/tasks.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Replays `tasks` over gRPC with `clients` concurrent clients; returns steps/s and RPCs/s. */
async function grpcRate(address: string, tasks: BfclTask[], clients: number) {
  const channels = Array.from({ length: clients }, () => createClient(EnvService, address));
  let next = 0, steps = 0, rpcs = 0;
  const t0 = performance.now();
  await Promise.all(channels.map(async (env) => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      const r = await replayTaskOverGrpc(env, task);
      steps += r.steps;
      // create + (execute per non-empty turn) + getState and advance per turn + evaluate + close
      rpcs += 3 + task.groundTruth.filter((c) => c.length > 0).length + 2 * task.groundTruth.length;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of channels) c.close();
  return { stepsPerSec: steps / seconds, rpcsPerSec: rpcs / seconds };
}

async function grpcBench(inProcess: number): Promise<void> {
  // Every 4th task: a mix of the four categories, 200 tasks a run.
  const tasks = listTasks().filter((_, i) => i % 4 === 0);
  await using svc = await spawnService("env-simulator");
  await grpcRate(svc.address, tasks.slice(0, 20), 1); // warm-up
  for (const clients of [1, 8]) {
    const runs = [];
    for (let r = 0; r < 3; r++) runs.push(await grpcRate(svc.address, tasks, clients));
    const steps = median(runs.map((x) => x.stepsPerSec));
    const rpcs = median(runs.map((x) => x.rpcsPerSec));
    console.log(
      `grpc, ${clients} client${clients > 1 ? "s" : " "}: ${Math.round(steps)} steps/s, ${
        Math.round(rpcs)
      } RPCs/s (median of 3 runs, ${tasks.length} tasks; ${
        (steps / inProcess * 100).toFixed(1)
      }% of in-process)`,
    );
  }
}

async function main(): Promise<void> {
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
  await grpcBench(m);
}

if (import.meta.main) await main();
