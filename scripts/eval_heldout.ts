/**
 * `deno task eval:heldout`: evaluates a weights file (an RL checkpoint, the learner's
 * `average.safetensors`, another SFT model) on the held-out split of a `deno task demo` run,
 * exactly as the demo evaluates (greedy episodes through a policy-inference process and an
 * env-simulator, the run's arm and tool docs), and compares it task by task with the run's SFT
 * model.
 *
 *   deno task eval:heldout --run DIR --weights FILE [--name NAME]
 *
 * Writes `DIR/eval/NAME.jsonl` (every episode, as the demo's) and prints the table and the line
 * `held-out success: SFT X% -> NAME Y% (95% CI of the difference: [A, B])`.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import type { ToolDocStyle } from "@parlmt/tokenizer";
import {
  ARM_BY_NAME,
  armContextMode,
  rewardWeightsFor,
} from "../services/learner/reward_config.ts";
import { readTaskFile } from "../services/learner/task_file.ts";
import { armWritesProgress } from "../services/rollout-actor/episode.ts";
import { episodeRecord, evaluate, type TaskScore } from "./demo/evaluate.ts";
import { compare, headline, tableLines } from "./demo/report.ts";

const USAGE = "Usage: deno task eval:heldout --run DIR --weights FILE [--name NAME]";

/** The run's settings this evaluation needs, from its `result.json`. */
interface RunSettings {
  readonly arm: string;
  readonly toolDocs: ToolDocStyle;
  readonly maxTokens: number;
  readonly evalTasks: number;
}

/** The TaskScores of an episode file written by the demo (`eval/*.jsonl`). */
async function readScores(path: string): Promise<Map<string, TaskScore>> {
  const out = new Map<string, TaskScore>();
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (line.trim() === "") continue;
    const r = JSON.parse(line) as TaskScore;
    out.set(r.taskId, r);
  }
  return out;
}

/** Evaluates `weights` on the held-out split of the run in `run`; returns the headline. */
export async function evalHeldout(
  run: string,
  weights: string,
  name: string,
  log: (line: string) => void = console.log,
): Promise<string> {
  const result = JSON.parse(
    await Deno.readTextFile(join(run, "result.json")).catch(() => {
      throw new RangeError(`Cannot evaluate on ${run}: no result.json (not a finished demo run)`);
    }),
  );
  const cfg = result.config as RunSettings;
  const arm = ARM_BY_NAME[cfg.arm];
  if (arm === undefined) {
    throw new RangeError(`Cannot evaluate on ${run}: unknown arm "${cfg.arm}"`);
  }
  await Deno.stat(weights).catch(() => {
    throw new RangeError(`Cannot evaluate "${weights}": no such file`);
  });
  const all = await readTaskFile(join(run, "data", "tasks", "test.jsonl"));
  const tasks = cfg.evalTasks > 0 ? all.slice(0, cfg.evalTasks) : all;
  const sft = await readScores(join(run, "eval", "sft.jsonl"));
  await using env = await spawnService("env-simulator", {
    stderr: { file: join(run, "logs", `eval-${name}-env.log`) },
  });
  await using policy = await spawnService("policy-inference", {
    args: [
      "--weights-file",
      weights,
      "--tokenizer",
      join(run, "sft", "tokenizer.json"),
      "--nats-url",
      "", // a fixed model: no weights bus
    ],
    stderr: { file: join(run, "logs", `eval-${name}-policy.log`) },
  });
  const deps = {
    env: createClient(EnvService, env.address, { timeoutMs: 120_000 }),
    policy: createClient(PolicyService, policy.address, { timeoutMs: 120_000 }),
  };
  log(`held-out evaluation of ${weights}: ${tasks.length} tasks, greedy`);
  const lines: string[] = [];
  let scores: TaskScore[];
  try {
    scores = await evaluate(deps, tasks, {
      contextMode: armContextMode(cfg.arm),
      progressBlocks: armWritesProgress(arm),
      rewardWeights: rewardWeightsFor(cfg.arm),
      toolDocs: cfg.toolDocs,
      maxTokens: cfg.maxTokens,
      concurrency: 16,
      onEpisode: (task, trajectory, score) => lines.push(episodeRecord(task, trajectory, score)),
    });
  } finally {
    deps.env.close();
    deps.policy.close();
  }
  await Deno.writeTextFile(join(run, "eval", `${name}.jsonl`), lines.join("\n") + "\n");
  const paired = scores.filter((s) => sft.has(s.taskId));
  if (paired.length !== scores.length) {
    throw new RangeError(
      `Cannot pair with the SFT model: ${scores.length - paired.length} of ${scores.length} ` +
        `tasks are missing from ${join(run, "eval", "sft.jsonl")}`,
    );
  }
  const c = compare(["SFT", name], paired.map((s) => sft.get(s.taskId)!), paired);
  for (const l of tableLines(c)) log(l);
  return headline(c);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      run: { type: "string" },
      weights: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help || !values.run || !values.weights) {
    console.error(USAGE);
    Deno.exit(values.help ? 0 : 2);
  }
  const name = values.name ?? "model";
  if (!/^[\w.+-]+$/.test(name) || name === "sft") {
    console.error(`Invalid flag "--name": "${name}" (letters, digits, ._+- and not "sft")`);
    Deno.exit(2);
  }
  try {
    console.log(await evalHeldout(values.run, values.weights, name));
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    console.error(err.message);
    Deno.exit(1);
  }
}
