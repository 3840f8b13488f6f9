/**
 * `deno task bench:rollout`: rollout throughput with 1, 2 and 4 rollout-actor processes against
 * one env-simulator, one policy-inference (a tiny model received over the NATS JetStream weights
 * bus) and one learner, all real processes over gRPC on loopback, and where each episode's time
 * goes: policy RPCs (generate), env RPCs and learner RPCs (submission plus its share of the lease
 * call), read from the actors' `rollout_episode_ms` histograms on their /metrics endpoints.
 *
 * Each configuration warms up, then is measured over a fixed window split into slices;
 * episodes/s is the median over the slices, time shares are over the whole window. The
 * reference line runs the same actor loop in this process (one loop, same concurrency) against
 * the same services. With `--train` the learner starts from the model and trains on what it
 * receives (publishing new weights), and its own step time is reported; without it the learner
 * only stores trajectories.
 *
 * Flags: --seconds (window per configuration, default 20), --warmup (5), --slices (4),
 * --concurrency (episodes in flight per actor, 4), --max-tokens (32), --tasks (48),
 * --actors (1,2,4), --train.
 * @module
 */
import { parseArgs } from "node:util";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { Logger } from "@parlmt/log";
import { type SpawnedService, spawnService } from "@parlmt/stack";
import { type EpisodeTiming, runActor } from "../services/rollout-actor/actor_loop.ts";
import { startRolloutRig } from "../tests/_rollout_rig.ts";

const PARTS = ["total", "policy", "env", "learner"] as const;
type Part = typeof PARTS[number];
/** Summed episode timings and the episode count. */
type Sums = Record<Part, number> & { episodes: number };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sums of `rollout_episode_ms_{sum,count}` by part from one /metrics text. */
function parseSums(text: string): Sums {
  const sums: Sums = { total: 0, policy: 0, env: 0, learner: 0, episodes: 0 };
  for (const line of text.split("\n")) {
    const m = /^rollout_episode_ms_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const part = /part="(\w+)"/.exec(m[2]!)?.[1] as Part | undefined;
    if (!part || !PARTS.includes(part)) continue;
    if (m[1] === "sum") sums[part] += Number(m[3]);
    else if (part === "total") sums.episodes += Number(m[3]);
  }
  return sums;
}

function add(a: Sums, b: Sums, sign = 1): Sums {
  return {
    total: a.total + sign * b.total,
    policy: a.policy + sign * b.policy,
    env: a.env + sign * b.env,
    learner: a.learner + sign * b.learner,
    episodes: a.episodes + sign * b.episodes,
  };
}

const ZERO: Sums = { total: 0, policy: 0, env: 0, learner: 0, episodes: 0 };

/** Measures `snapshot` (cumulative sums) over warm-up + slices; returns rates and window sums. */
async function measure(
  snapshot: () => Promise<Sums>,
  opts: { warmupMs: number; windowMs: number; slices: number },
): Promise<{ rates: number[]; window: Sums }> {
  await sleep(opts.warmupMs);
  const first = await snapshot();
  let prev = first;
  let prevAt = performance.now();
  const rates: number[] = [];
  for (let i = 0; i < opts.slices; i++) {
    await sleep(opts.windowMs / opts.slices);
    const now = await snapshot();
    const at = performance.now();
    rates.push((now.episodes - prev.episodes) / ((at - prevAt) / 1000));
    prev = now;
    prevAt = at;
  }
  return { rates, window: add(prev, first, -1) };
}

function pct(part: number, total: number): string {
  return `${total > 0 ? Math.round((part / total) * 100) : 0}%`;
}

function describe(rates: number[], w: Sums): string {
  return `${median(rates).toFixed(2)} episodes/s (policy ${pct(w.policy, w.total)} env ${
    pct(w.env, w.total)
  } learner ${pct(w.learner, w.total)} of episode time; ${
    w.episodes > 0 ? Math.round(w.total / w.episodes) : 0
  } ms/episode mean, ${w.episodes} episodes)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "20" },
      warmup: { type: "string", default: "5" },
      slices: { type: "string", default: "4" },
      concurrency: { type: "string", default: "4" },
      "max-tokens": { type: "string", default: "32" },
      tasks: { type: "string", default: "48" },
      actors: { type: "string", default: "1,2,4" },
      train: { type: "boolean", default: false },
    },
  });
  const windowMs = Number(values.seconds) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const slices = Number(values.slices);
  const concurrency = Number(values.concurrency);
  const maxTokens = Number(values["max-tokens"]);
  const actorCounts = values.actors.split(",").map(Number);
  const timing = { warmupMs, windowMs, slices };
  const t0 = performance.now();

  await using rig = await startRolloutRig(21, Number(values.tasks), { minTurns: 1, maxTurns: 3 });
  const { dir } = rig;
  const learnerArgs = rig.learnerArgs([], 4);
  if (values.train) {
    learnerArgs.push(...await rig.trainingArgs(1e-4, 1000));
  } else {
    await rig.publish(1);
  }
  await using learner = await spawnService("learner", {
    args: learnerArgs,
    stderr: { file: `${dir}/learner.log` },
  });
  const learnerClient = createClient(LearnerService, learner.address);
  const deps = {
    learner: createClient(LearnerService, learner.address),
    env: createClient(EnvService, rig.env.address, { timeoutMs: 120_000 }),
    policy: createClient(PolicyService, rig.policy.address, { timeoutMs: 120_000 }),
  };
  try {
    for (let i = 0;; i++) {
      if ((await deps.policy.getPolicyStatus({})).weightsVersion >= 1n) break;
      if (i > 600) throw new Error("policy-inference never served weights version 1");
      await sleep(100);
    }
    // The learner's updates so far and their summed step time (its metrics.jsonl events).
    const learnerStep = async () => {
      const text = await Deno.readTextFile(`${dir}/learner/metrics.jsonl`).catch(() => "");
      let steps = 0, ms = 0;
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const stepMs = JSON.parse(line).scalars?.["perf/step_ms"];
        if (typeof stepMs !== "number") continue;
        steps++;
        ms += stepMs;
      }
      return { steps, ms };
    };
    console.log(
      `rollout bench: 1 env-simulator, 1 policy-inference (tiny model, ${maxTokens} tokens per ` +
        `generation), 1 learner (${values.train ? "training" : "no training"}); ` +
        `${concurrency} episodes in flight per actor; ${values.warmup} s warm-up, ` +
        `${values.seconds} s window in ${slices} slices (episodes/s: median of slices)`,
    );

    // Reference: the same loop in this process.
    const inProcess: Sums = { ...ZERO };
    const stop = new AbortController();
    const loop = runActor(
      deps,
      {
        actorId: "bench-in-process",
        concurrency,
        shutdownGraceMs: 10_000,
        episode: { sampling: { temperature: 1, topP: 1, maxTokens } },
        observer: {
          episode(t: EpisodeTiming) {
            inProcess.total += t.totalMs;
            inProcess.policy += t.policyMs;
            inProcess.env += t.envMs;
            inProcess.learner += t.learnerMs;
            inProcess.episodes++;
          },
        },
      },
      new Logger({ service: "bench", level: "error" }),
      stop.signal,
    );
    const ref = await measure(() => Promise.resolve({ ...inProcess }), timing);
    stop.abort();
    await loop;
    const refRate = median(ref.rates);

    const results: { n: number; rate: number }[] = [];
    for (const n of actorCounts) {
      const before = await learnerStep();
      const actors: SpawnedService[] = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          spawnService("rollout-actor", {
            args: rig.actorArgs(learner.address, `bench-${n}-${i}`, [
              "--concurrency",
              String(concurrency),
              "--max-tokens",
              String(maxTokens),
            ]),
            stderr: { file: `${dir}/actor-${n}-${i}.log` },
          })),
      );
      try {
        const snapshot = async () => {
          const texts = await Promise.all(actors.map(async (a, i) => {
            try {
              return await (await fetch(`http://127.0.0.1:${a.adminPort}/metrics`)).text();
            } catch (err) {
              const code = await Promise.race([a.exited, sleep(2000).then(() => "running")]);
              const log = await Deno.readTextFile(`${dir}/actor-${n}-${i}.log`).catch(() => "");
              throw new Error(
                `Cannot read actor ${i}'s metrics (exit code: ${code}): ${
                  (err as Error).message
                }\n${log.slice(-2000)}`,
              );
            }
          }));
          return texts.map(parseSums).reduce((a, b) => add(a, b), { ...ZERO });
        };
        const r = await measure(snapshot, timing);
        const after = await learnerStep();
        const rate = median(r.rates);
        results.push({ n, rate });
        const updates = after.steps - before.steps;
        const train = values.train
          ? `; learner: ${updates} updates, ${
            updates ? Math.round((after.ms - before.ms) / updates) : 0
          } ms/update (mean), training ${
            Math.round((after.ms - before.ms) / (warmupMs + windowMs) * 100)
          }% of the learner's wall time`
          : "";
        console.log(
          `actors ${n}: ${describe(r.rates, r.window)}; ${
            (rate / (results[0]!.rate || NaN)).toFixed(2)
          }x 1 actor, ${(rate / refRate).toFixed(2)}x in-process${train}`,
        );
      } finally {
        await Promise.all(actors.map((a) => a.stop()));
      }
    }
    console.log(`reference, 1 in-process actor loop: ${describe(ref.rates, ref.window)}`);
    console.log(`total bench time ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    for (const c of Object.values(deps)) c.close();
    learnerClient.close();
  }
}

if (import.meta.main) await main();
