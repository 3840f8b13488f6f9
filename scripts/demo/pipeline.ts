/**
 * The end-to-end PARL-MT run, phase by phase, shared by `deno task demo` and
 * `deno task experiment`: synthesise the curriculum (PAG data), SFT the built-in model on it,
 * evaluate it on the held-out split, run RL with the learner and N rollout actors over the real
 * services, and evaluate the result on the same held-out tasks.
 */
import { cp, stat } from "node:fs/promises";
import { join } from "node:path";
import { ContextMode, type Task } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import {
  type NatsServer,
  type SpawnedService,
  spawnService,
  startNatsServer,
  trackChild,
} from "@parlmt/stack";
import type { PreTokenizerStyle, ToolDocStyle } from "@parlmt/tokenizer";
import {
  ARM_BY_NAME,
  armContextMode,
  rewardWeightsFor,
} from "../../services/learner/reward_config.ts";
import { armWritesProgress } from "../../services/rollout-actor/episode.ts";
import { readTaskFile } from "../../services/learner/task_file.ts";
import type { Heldout } from "../../services/synthesis/generate_tasks.ts";
import type { EntityPools } from "../../services/synthesis/entities.ts";
import { episodeRecord, evaluate, type TaskScore } from "./evaluate.ts";

/** The arms (DESIGN.md §3): SFT data mode, RL context mode, awareness reward. */
export const ARMS = ["sft", "mt-grpo", "pag+mt-grpo", "pag-rl"] as const;
/** One arm. */
export type ArmName = typeof ARMS[number];

/**
 * The SFT data of an arm: PAG samples in the arm's context mode (DESIGN.md §3), or for
 * `mt-grpo` (no awareness) the full-context samples with the progress blocks taken out.
 */
export function armSftData(arm: ArmName): "progress" | "full" | "raw" {
  if (arm === "mt-grpo") return "raw";
  return armContextMode(arm) === ContextMode.PROGRESS ? "progress" : "full";
}

const BLOCK = /<progress>[\s\S]*?<\/progress>/g;

/** Writes `dir/raw/` from `dir/full/`: the same samples without progress blocks. */
async function writeRawSamples(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "raw"), { recursive: true });
  for (const split of ["train", "test"]) {
    const lines = (await Deno.readTextFile(join(dir, "full", `${split}.jsonl`))).split("\n");
    const out = lines.filter((l) => l.trim()).map((l) => {
      const s = JSON.parse(l);
      s.target = String(s.target).replace(BLOCK, "");
      for (const m of s.context ?? []) m.content = String(m.content ?? "").replace(BLOCK, "");
      return JSON.stringify(s);
    });
    await Deno.writeTextFile(join(dir, "raw", `${split}.jsonl`), out.join("\n") + "\n");
  }
}

/** Everything a run needs to know. */
export interface RunConfig {
  /** Output folder (wiped first). */
  readonly out: string;
  /**
   * A previous run's output folder whose curriculum (`data/`) and SFT model (`sft/`) this run
   * reuses instead of synthesising and training them again (its synthesis and SFT flags then
   * do not apply).
   */
  readonly from?: string;
  readonly seed: number;
  readonly arm: ArmName;
  /** Curriculum tasks, train + test. */
  readonly tasks: number;
  readonly classes: readonly string[];
  readonly minTurns: number;
  readonly maxTurns: number;
  /** What the held-out split holds out (synth `--heldout`). */
  readonly heldout: Heldout;
  /** Train phrasing families kept for RL (synth `--rl-families`); 0: RL uses the SFT tasks. */
  readonly rlFamilies?: number;
  /** Entity pools (synth `--entities`). */
  readonly entities: EntityPools;
  /** Synthesis knobs (synth flags of the same names). */
  readonly maxCallsPerTurn: number;
  readonly maxDependencyDepth: number;
  readonly missParamRate: number;
  readonly missFuncRate: number;
  readonly maxDistractors: number;
  /** Functions listed per task. */
  readonly offeredTools: number;
  readonly toolDocs: ToolDocStyle;
  /** Model. */
  readonly nLayer: number;
  readonly nEmbd: number;
  /** Rotary positions on queries and keys (besides the learned table). */
  readonly rotary: boolean;
  /** How the tokenizer cuts text into pre-tokens. */
  readonly preTokenizer: PreTokenizerStyle;
  readonly context: number;
  readonly vocabSize: number;
  readonly sftSteps: number;
  readonly sftBatch: number;
  readonly sftLr: number;
  /** Rows (policy samples) per RL optimizer step. */
  readonly rlBatch: number;
  /** Passes over each update's samples (learner `--update-epochs`). @default 1 */
  readonly rlEpochs?: number;
  /**
   * Decay of the learner's running average of the weights (`--ema-decay`), which becomes the
   * evaluated model; 0 evaluates the last weights. @default 0
   */
  readonly emaDecay?: number;
  /** RL (or extra SFT for the `sft` arm) wall-clock budget. */
  readonly rlSeconds: number;
  /** Updates after which RL ends even within its time budget; 0 for no limit. */
  readonly rlUpdates?: number;
  readonly actors: number;
  readonly actorConcurrency: number;
  readonly groupSize: number;
  readonly groupsPerStep: number;
  readonly rlLr: number;
  readonly klCoef: number;
  /** Advantage estimator of the learner. @default {"grpo"} */
  readonly estimator?: string;
  /** How the learner weighs episodes (`token` or `episode`). @default {"token"} */
  readonly advantageWeighting?: string;
  /** Weight of the per-turn baseline term. @default {0} */
  readonly turnLevelWeight?: number;
  /** Overrides of the arm's reward weights (`term=weight,...`). @default {""} */
  readonly rewardWeights?: string;
  readonly temperature: number;
  readonly maxTokens: number;
  /** Held-out tasks evaluated (0: all). */
  readonly evalTasks: number;
  /** onnxruntime threads of SFT and the learner. */
  readonly threads: number;
  /**
   * onnxruntime threads of policy-inference: one leaves a core to its gRPC and to the actors,
   * which serves more on two cores (docs/policy-inference.md).
   */
  readonly policyThreads: number;
  /** Where progress lines go. */
  readonly log: (line: string) => void;
}

/** What a run produced. */
export interface RunResult {
  readonly config: Omit<RunConfig, "log">;
  readonly synth: Record<string, unknown>;
  readonly sft: Record<string, unknown>;
  readonly before: TaskScore[];
  readonly after: TaskScore[];
  readonly rl: {
    steps: number;
    trajectories: number;
    seconds: number;
    weightsVersion: number;
    /** True when the evaluated weights are the running average (`emaDecay`). */
    averaged?: boolean;
  };
  readonly seconds: {
    synth: number;
    sft: number;
    evalBefore: number;
    rl: number;
    evalAfter: number;
  };
  /** Learner scalars (metrics.jsonl events). */
  readonly learnerEvents: { step: number; scalars: Record<string, number> }[];
  /** SFT scalars (metrics.jsonl events). */
  readonly sftEvents: { step: number; scalars: Record<string, number> }[];
  readonly dashboard: string;
}

const REPO = new URL("../../", import.meta.url).pathname;

/** Runs `deno run -A <script> ...args`; stderr lines go to `onLine` and a log file. */
async function runScript(
  script: string,
  args: string[],
  logFile: string,
  onLine?: (line: string) => void,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, script), ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  trackChild(child);
  const log = await Deno.open(logFile, { create: true, append: true });
  const stdout = new Response(child.stdout).text();
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    await log.write(chunk);
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const l of lines) onLine?.(l);
  }
  log.close();
  const { code } = await child.status;
  const out = await stdout;
  if (code !== 0) throw new Error(`${script} exited with ${code}; see ${logFile}`);
  return out;
}

async function readEvents(path: string): Promise<RunResult["learnerEvents"]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (!line) throw new Error("expected a JSON summary line on stdout");
  return JSON.parse(line);
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Copies the curriculum and SFT model of the run in `from` into `out`, and returns the summaries
 * that run wrote; throws naming the first file it lacks.
 */
async function reuseRun(
  from: string,
  out: string,
): Promise<{ synth: Record<string, unknown>; sft: Record<string, unknown>; mode: string }> {
  const need = [
    "data/synth.json",
    "data/tasks/train.jsonl",
    "data/tasks/test.jsonl",
    "sft/model.safetensors",
    "sft/tokenizer.json",
    "sft/summary.json",
    "sft/data_mode",
  ];
  for (const f of need) {
    if (!(await stat(join(from, f)).then((s) => s.isFile(), () => false))) {
      throw new Error(`Cannot reuse ${from}: it has no ${f} (is it a demo output folder?)`);
    }
  }
  await cp(join(from, "data"), join(out, "data"), { recursive: true });
  await cp(join(from, "sft"), join(out, "sft"), { recursive: true });
  return {
    synth: JSON.parse(await Deno.readTextFile(join(from, "data", "synth.json"))),
    sft: JSON.parse(await Deno.readTextFile(join(from, "sft", "summary.json"))),
    mode: (await Deno.readTextFile(join(from, "sft", "data_mode"))).trim(),
  };
}

/** Runs the whole pipeline for one arm and seed. */
export async function runPipeline(cfg: RunConfig): Promise<RunResult> {
  const { log } = cfg;
  const out = cfg.out;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const logs = join(out, "logs");
  await Deno.mkdir(logs, { recursive: true });
  const data = join(out, "data");
  const sftDir = join(out, "sft");
  const started: { [Symbol.asyncDispose](): Promise<void> }[] = [];
  const seconds = { synth: 0, sft: 0, evalBefore: 0, rl: 0, evalAfter: 0 };
  const clock = () => {
    const t0 = performance.now();
    return () => (performance.now() - t0) / 1000;
  };
  const mode = armSftData(cfg.arm);
  const contextMode = armContextMode(cfg.arm);
  try {
    log(`nats-server -js and env-simulator`);
    const nats: NatsServer = await startNatsServer({ storeDir: join(out, "nats") });
    started.push(nats);
    const env: SpawnedService = await spawnService("env-simulator", {
      stderr: { file: join(logs, "env-simulator.log") },
    });
    started.push(env);

    let t = clock();
    const reused = cfg.from ? await reuseRun(cfg.from, out) : undefined;
    if (reused) log(`reusing the curriculum and SFT model of ${cfg.from}`);
    else log(`synthesis: ${cfg.tasks} tasks (PAG-annotated, verified by execution)`);
    const synth = reused?.synth ?? lastJsonLine(
      await runScript("services/synthesis/synth.ts", [
        "--out",
        data,
        "--tasks",
        String(cfg.tasks),
        "--seed",
        String(cfg.seed),
        "--min-turns",
        String(cfg.minTurns),
        "--max-turns",
        String(cfg.maxTurns),
        "--offered-tools",
        String(cfg.offeredTools),
        "--max-calls-per-turn",
        String(cfg.maxCallsPerTurn),
        "--max-dependency-depth",
        String(cfg.maxDependencyDepth),
        "--miss-param-rate",
        String(cfg.missParamRate),
        "--miss-func-rate",
        String(cfg.missFuncRate),
        "--max-distractors",
        String(cfg.maxDistractors),
        "--heldout",
        cfg.heldout,
        "--rl-families",
        String(cfg.rlFamilies ?? 0),
        "--entities",
        cfg.entities,
        "--tool-docs",
        cfg.toolDocs,
        ...(cfg.classes.length ? ["--classes", cfg.classes.join(",")] : []),
        "--quiet",
      ], join(logs, "synth.log")),
    );
    await Deno.writeTextFile(join(data, "synth.json"), JSON.stringify(synth));
    if (mode === "raw" && !reused) await writeRawSamples(data);
    seconds.synth = t();
    log(
      `  ${synth.tasks} tasks, ${synth.samples} samples, drop rate ${synth.dropRate} ` +
        `(${seconds.synth.toFixed(1)} s)`,
    );

    t = clock();
    if (!reused) {
      log(`SFT on ${mode}-context PAG samples: ${cfg.sftSteps} steps of ${cfg.sftBatch}`);
    }
    const buckets = [128, 256, 384, 512, 768, 1024].filter((b) => b < cfg.context);
    const sft = reused?.sft ?? lastJsonLine(
      await runScript(
        "services/learner/sft.ts",
        [
          "--data",
          join(data, mode),
          "--out",
          sftDir,
          "--steps",
          String(cfg.sftSteps),
          "--batch-size",
          String(cfg.sftBatch),
          "--lr",
          String(cfg.sftLr),
          "--buckets",
          [...buckets, cfg.context].join(","),
          "--vocab-size",
          String(cfg.vocabSize),
          "--n-layer",
          String(cfg.nLayer),
          "--n-embd",
          String(cfg.nEmbd),
          "--n-ff",
          String(cfg.nEmbd * 4),
          ...(cfg.rotary ? ["--rotary"] : []),
          "--pre-tokenizer",
          cfg.preTokenizer,
          "--seed",
          String(cfg.seed + 1),
          "--threads",
          String(cfg.threads),
          "--eval-every",
          String(Math.max(10, Math.round(cfg.sftSteps / 6))),
          "--decode-test",
          "0",
          "--decode-train",
          "0",
        ],
        join(logs, "sft.log"),
        (line) => {
          const m =
            /"msg":"step (\d+)\/(\d+)".*"losses\/train":([\d.e-]+).*"losses\/heldout":([\d.e-]+|null)/
              .exec(line);
          if (m && Number(m[1]) % Math.max(10, Math.round(cfg.sftSteps / 6)) === 0) {
            log(
              `  step ${m[1]}/${m[2]}  train loss ${Number(m[3]).toFixed(3)}  held-out loss ${
                m[4] === "null" ? "-" : Number(m[4]).toFixed(3)
              }`,
            );
          }
        },
      ),
    ).summary as Record<string, unknown>;
    seconds.sft = t();
    if (reused) {
      if (reused.mode !== mode) {
        throw new Error(
          `Cannot reuse ${cfg.from}: its SFT model was trained on ${reused.mode}-context ` +
            `samples, arm ${cfg.arm} needs ${mode}`,
        );
      }
    } else {
      await Deno.writeTextFile(join(sftDir, "data_mode"), mode);
      log(
        `  done in ${seconds.sft.toFixed(0)} s (${Math.round(Number(sft.tokensPerSec))} tokens/s)`,
      );
    }

    const policy = await spawnService("policy-inference", {
      args: [
        "--nats-url",
        nats.url,
        "--weights-file",
        join(sftDir, "model.safetensors"),
        "--tokenizer",
        join(sftDir, "tokenizer.json"),
        "--intra-op-threads",
        String(cfg.policyThreads),
      ],
      stderr: { file: join(logs, "policy-inference.log") },
    });
    started.push(policy);
    // Fresh channels for each phase, closed after it: a channel left idle through the RL phase
    // is exposed to the server's GOAWAY, which Deno's HTTP/2 client does not survive (docs/rpc.md).
    const withClients = async <T>(
      fn: (deps: {
        env: ReturnType<typeof createClient<typeof EnvService>>;
        policy: ReturnType<typeof createClient<typeof PolicyService>>;
      }) => Promise<T>,
    ): Promise<T> => {
      const deps = {
        env: createClient(EnvService, env.address, { timeoutMs: 120_000 }),
        policy: createClient(PolicyService, policy.address, { timeoutMs: 120_000 }),
      };
      try {
        return await fn(deps);
      } finally {
        deps.env.close();
        deps.policy.close();
      }
    };
    const servedVersion = () =>
      withClients(async (d) => (await d.policy.getPolicyStatus({})).weightsVersion);
    const allTest = await readTaskFile(join(data, "tasks", "test.jsonl"));
    const test: Task[] = cfg.evalTasks > 0 ? allTest.slice(0, cfg.evalTasks) : allTest;
    const evalOpts = {
      contextMode,
      progressBlocks: armWritesProgress(ARM_BY_NAME[cfg.arm]!),
      rewardWeights: rewardWeightsFor(cfg.arm),
      toolDocs: cfg.toolDocs,
      maxTokens: cfg.maxTokens,
      concurrency: 16,
    };
    // Each evaluation keeps its episodes (what the model wrote, per task) as JSON lines.
    await Deno.mkdir(join(out, "eval"), { recursive: true });
    const evaluateTo = async (file: string) => {
      const lines: string[] = [];
      const scores = await withClients((deps) =>
        evaluate(deps, test, {
          ...evalOpts,
          onEpisode: (task, trajectory, score) =>
            lines.push(episodeRecord(task, trajectory, score)),
        })
      );
      await Deno.writeTextFile(join(out, "eval", file), lines.join("\n") + "\n");
      return scores;
    };
    t = clock();
    log(`held-out evaluation of the SFT model: ${test.length} tasks, greedy`);
    const before = await evaluateTo("sft.jsonl");
    seconds.evalBefore = t();

    t = clock();
    // With phrasings kept for RL (--rl-families) RL leases only those tasks, never SFT's.
    const rlPool = join(data, "tasks", "rl.jsonl");
    const rlTasks = await stat(rlPool).then((s) => s.size > 0, () => false)
      ? rlPool
      : join(data, "tasks", "train.jsonl");
    const learner = await spawnService("learner", {
      args: [
        "--nats-url",
        nats.url,
        "--data-dir",
        join(out, "learner"),
        "--tasks-file",
        rlTasks,
        "--init-model",
        join(sftDir, "model.safetensors"),
        "--arm",
        cfg.arm,
        "--group-size",
        String(cfg.groupSize),
        "--groups-per-step",
        String(cfg.groupsPerStep),
        "--train-seq-len",
        String(cfg.context),
        "--train-batch-size",
        String(cfg.rlBatch),
        "--update-epochs",
        String(cfg.rlEpochs ?? 1),
        "--ema-decay",
        String(cfg.emaDecay ?? 0),
        "--lr",
        String(cfg.rlLr),
        "--kl-coef",
        String(cfg.klCoef),
        "--estimator",
        cfg.estimator ?? "grpo",
        "--advantage-weighting",
        cfg.advantageWeighting ?? "token",
        "--turn-level-weight",
        String(cfg.turnLevelWeight ?? 0),
        ...(cfg.rewardWeights ? ["--reward-weights", cfg.rewardWeights] : []),
        "--checkpoint-every",
        "20",
        ...(cfg.arm === "sft"
          ? ["--sft-data", join(data, mode), "--tokenizer", join(sftDir, "tokenizer.json")]
          : []),
      ],
      stderr: { file: join(logs, "learner.log") },
    });
    started.push(learner);
    const dashboard = `http://127.0.0.1:${learner.adminPort}/`;
    log(
      `RL (${cfg.arm}) for ${cfg.rlSeconds} s with ${cfg.actors} actors on ${
        rlTasks.endsWith("rl.jsonl") ? "the RL-only tasks" : "the SFT tasks"
      }; live dashboard: ${dashboard}`,
    );
    const learnerStatus = async () => {
      const c = createClient(LearnerService, learner.address);
      try {
        return await c.getLearnerStatus({});
      } finally {
        c.close();
      }
    };
    // The learner publishes its starting weights under the version after the SFT model's;
    // rollouts begin once policy-inference serves that version.
    const first = await until("the learner's first weights", 60_000, async () => {
      const v = (await learnerStatus()).weightsVersion;
      return v > 0n ? v : undefined;
    });
    await until(`policy-inference to serve weights version ${first}`, 60_000, async () => {
      const v = await servedVersion();
      return v >= first ? v : undefined;
    });
    const actors: SpawnedService[] = [];
    for (let i = 0; i < cfg.actors; i++) {
      const a = await spawnService("rollout-actor", {
        args: [
          "--learner-address",
          learner.address,
          "--env-address",
          env.address,
          "--policy-address",
          policy.address,
          "--actor-id",
          `actor-${i}`,
          "--concurrency",
          String(cfg.actorConcurrency),
          "--temperature",
          String(cfg.temperature),
          "--max-tokens",
          String(cfg.maxTokens),
          "--tool-docs",
          cfg.toolDocs,
        ],
        stderr: { file: join(logs, `rollout-actor-${i}.log`) },
      });
      actors.push(a);
      started.push(a);
    }
    const rlStart = performance.now();
    let lastLine = 0;
    const updates = cfg.rlUpdates ?? 0;
    while (performance.now() - rlStart < cfg.rlSeconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      if (updates > 0 && (await learnerStatus()).step >= updates) break;
      if (performance.now() - lastLine < 20_000) continue;
      lastLine = performance.now();
      const s = await learnerStatus();
      const ev = (await readEvents(join(out, "learner", "metrics.jsonl"))).at(-1)?.scalars ?? {};
      log(
        `  ${Math.round((performance.now() - rlStart) / 1000)} s: step ${s.step}, ` +
          `weights v${s.weightsVersion}, ${s.acceptedTrajectories} trajectories, ` +
          `reward ${(ev["charts/reward_mean"] ?? NaN).toFixed(3)}, ` +
          `success ${((ev["charts/success_rate"] ?? NaN) * 100).toFixed(0)}%`,
      );
    }
    // Stop the actors (they finish or hand back their episodes), then end training: the learner
    // completes the update it is in and publishes the final policy (the running average of the
    // weights with --ema-decay); evaluate that version.
    await Promise.all(actors.map((a) => a.stop("SIGTERM")));
    const finished = await (async () => {
      const c = createClient(LearnerService, learner.address, { timeoutMs: 300_000 });
      try {
        return await c.finishTraining({});
      } finally {
        c.close();
      }
    })();
    const status = await learnerStatus();
    await until(`policy-inference to serve v${finished.weightsVersion}`, 120_000, async () => {
      const v = await servedVersion();
      return v >= finished.weightsVersion ? v : undefined;
    });
    seconds.rl = t();
    const rl = {
      steps: Number(finished.step),
      trajectories: Number(status.acceptedTrajectories),
      seconds: seconds.rl,
      weightsVersion: Number(finished.weightsVersion),
      averaged: finished.averaged,
    };
    log(
      `  ${rl.steps} updates from ${rl.trajectories} trajectories; serving v${rl.weightsVersion}` +
        (rl.averaged ? ` (the EMA of the weights, decay ${cfg.emaDecay})` : ""),
    );

    t = clock();
    log(`held-out evaluation of the ${cfg.arm} model: ${test.length} tasks, greedy`);
    // The `sft` arm's own name would overwrite the SFT model's episodes.
    const after = await evaluateTo(`${cfg.arm === "sft" ? "sft-after" : cfg.arm}.jsonl`);
    seconds.evalAfter = t();
    await learner.stop("SIGTERM");
    const { log: _, ...config } = cfg;
    return {
      config,
      synth,
      sft,
      before,
      after,
      rl,
      seconds,
      learnerEvents: await readEvents(join(out, "learner", "metrics.jsonl")),
      sftEvents: await readEvents(join(sftDir, "metrics.jsonl")),
      dashboard,
    };
  } finally {
    for (const p of started.reverse()) await p[Symbol.asyncDispose]().catch(() => {});
  }
}
