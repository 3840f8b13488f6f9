/**
 * `deno task synth --out DIR --tasks N --seed S`: builds the synthetic PAG curriculum and writes
 * `tasks/{train,test}.jsonl` (parlmt.v1.Task), `full/` and `progress/` `{train,test}.jsonl`
 * (parlmt.v1.SftSample, loadable by the SFT trainer) and `dataset_card.{json,md}`. Same seed,
 * byte-identical files. A progress bar goes to stderr. Optional: `--writer-url/--writer-model`
 * (LLM writer) and `--policy-url/--policy-model` (model-aware check), both verified and counted.
 * @module
 */
import { TOOL_DOC_STYLES, type ToolDocStyle } from "@parlmt/tokenizer";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { SftSampleSchema } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import {
  type BuildEndpoints,
  buildTask,
  buildTaskWith,
  type DatasetRequest,
  emptyEndpointStats,
  outputSplit,
  plan,
} from "./dataset.ts";
import type { EntityPools } from "./entities.ts";
import { LlmWriter } from "./llm_writer.ts";
import { type Endpoint, EndpointError, validateBaseUrl } from "./openai_endpoint.ts";
import { cardMarkdown, DatasetCardBuilder } from "./dataset_card.ts";
import {
  DEFAULT_GEN_OPTIONS,
  type GenOptions,
  type Heldout,
  validateGenOptions,
} from "./generate_tasks.ts";
import { sampleToProto, taskToProto } from "./to_proto.ts";

const HELP = `Usage: deno task synth --out DIR [--tasks N] [--seed S] [options]
  --out DIR                 output directory (required)
  --tasks N                 tasks in all, train + test (default 1000)
  --seed S                  seed (default 0)
  --test-fraction F         held-out fraction (default 0.2)
  --heldout KIND            what the test split holds out: template+entity (default: phrasings
                            and entity values never seen in training) or entity (values only)
  --entities POOLS          base (default: small fixed pools of names and words) or wide (adds
                            hundreds of made-up names, words and handles per kind)
  --min-turns N --max-turns N --max-calls-per-turn N --max-dependency-depth N
  --long-context-rate R --miss-param-rate R --miss-func-rate R --max-distractors N
  --classes A,B             environment classes (default: all eight)
  --rl-families N           keep the last N (0-3) of the four train phrasing families for RL:
                            those tasks go to tasks/rl.jsonl without SFT samples (default 0)
  --offered-tools N         list only N functions per task: its own and distractors (default 0: all)
  --tool-docs STYLE         how samples list tools: full, brief or signature (default brief)
  --policy-url URL --policy-model M [--policy-api-key K]
                            model-aware check against an OpenAI-compatible endpoint (base URL,
                            e.g. http://127.0.0.1:9103/v1): tasks whose blocks the policy cannot
                            follow to the ground-truth call are dropped (off by default)
  --writer-url URL --writer-model M [--writer-api-key K]
                            LLM writer: paraphrases user turns and rewrites summaries, all
                            verified; rejections counted in the card (off by default)
  --quiet                   no progress bar`;

/** The endpoints named by the flags (none by default). */
export interface SynthEndpoints {
  readonly policy?: Endpoint;
  readonly writer?: Endpoint;
}

function endpointOf(
  kind: "policy" | "writer",
  url: string | undefined,
  model: string | undefined,
  key: string | undefined,
): Endpoint | undefined {
  if (url === undefined) {
    if (model !== undefined || key !== undefined) {
      throw new RangeError(`Flag "--${kind}-model"/"--${kind}-api-key" needs "--${kind}-url"`);
    }
    return undefined;
  }
  const baseUrl = validateBaseUrl(url, `flag "--${kind}-url"`);
  if (!model) throw new RangeError(`Missing flag "--${kind}-model" (needed by --${kind}-url)`);
  return { baseUrl, model, apiKey: key ?? "" };
}

/** Parses the CLI flags into a request; throws RangeError naming the flag. */
export function parseSynthArgs(
  args: string[],
): { out: string; req: DatasetRequest; quiet: boolean; endpoints: SynthEndpoints } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      out: { type: "string" },
      tasks: { type: "string", default: "1000" },
      seed: { type: "string", default: "0" },
      "test-fraction": { type: "string", default: "0.2" },
      "min-turns": { type: "string" },
      "max-turns": { type: "string" },
      "max-calls-per-turn": { type: "string" },
      "max-dependency-depth": { type: "string" },
      "long-context-rate": { type: "string" },
      "miss-param-rate": { type: "string" },
      "miss-func-rate": { type: "string" },
      "max-distractors": { type: "string" },
      "offered-tools": { type: "string" },
      "tool-docs": { type: "string", default: "brief" },
      classes: { type: "string" },
      "policy-url": { type: "string" },
      "policy-model": { type: "string" },
      "policy-api-key": { type: "string" },
      "writer-url": { type: "string" },
      "writer-model": { type: "string" },
      "writer-api-key": { type: "string" },
      heldout: { type: "string" },
      entities: { type: "string" },
      "rl-families": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) throw new RangeError(HELP);
  if (!values.out) throw new RangeError(`Missing flag "--out"\n${HELP}`);
  const num = (flag: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new RangeError(`Invalid flag "--${flag}": "${v}" is not a number`);
    }
    return n;
  };
  const d = DEFAULT_GEN_OPTIONS;
  const options: GenOptions = validateGenOptions({
    minTurns: num("min-turns", values["min-turns"], d.minTurns),
    maxTurns: num("max-turns", values["max-turns"], d.maxTurns),
    maxCallsPerTurn: num("max-calls-per-turn", values["max-calls-per-turn"], d.maxCallsPerTurn),
    maxDependencyDepth: num(
      "max-dependency-depth",
      values["max-dependency-depth"],
      d.maxDependencyDepth,
    ),
    longContextRate: num("long-context-rate", values["long-context-rate"], d.longContextRate),
    missParamRate: num("miss-param-rate", values["miss-param-rate"], d.missParamRate),
    missFuncRate: num("miss-func-rate", values["miss-func-rate"], d.missFuncRate),
    maxDistractors: num("max-distractors", values["max-distractors"], d.maxDistractors),
    offeredTools: num("offered-tools", values["offered-tools"], 0),
    heldout: (values.heldout ?? "template+entity") as Heldout,
    entities: (values.entities ?? "base") as EntityPools,
    classes: values.classes ? values.classes.split(",").filter(Boolean) : [],
  });
  const taskCount = num("tasks", values.tasks, 1000);
  if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > 1_000_000) {
    throw new RangeError(
      `Invalid flag "--tasks": expected an integer in [1, 1000000], got ${values.tasks}`,
    );
  }
  const seed = num("seed", values.seed, 0);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(
      `Invalid flag "--seed": expected a non-negative integer, got ${values.seed}`,
    );
  }
  const rlFamilies = num("rl-families", values["rl-families"], 0);
  if (!Number.isInteger(rlFamilies) || rlFamilies < 0 || rlFamilies > 3) {
    throw new RangeError(
      `Invalid flag "--rl-families": expected an integer in [0, 3], got ${values["rl-families"]}`,
    );
  }
  const testFraction = num("test-fraction", values["test-fraction"], 0.2);
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new RangeError(`Invalid flag "--test-fraction": expected [0, 1), got ${testFraction}`);
  }
  const policy = endpointOf(
    "policy",
    values["policy-url"],
    values["policy-model"],
    values["policy-api-key"],
  );
  const writer = endpointOf(
    "writer",
    values["writer-url"],
    values["writer-model"],
    values["writer-api-key"],
  );
  const toolDocs = values["tool-docs"] as ToolDocStyle;
  if (!TOOL_DOC_STYLES.includes(toolDocs)) {
    throw new RangeError(
      `Invalid flag "--tool-docs": expected one of ${
        TOOL_DOC_STYLES.join(", ")
      }, got "${toolDocs}"`,
    );
  }
  return {
    out: values.out,
    quiet: values.quiet,
    endpoints: { ...(policy ? { policy } : {}), ...(writer ? { writer } : {}) },
    req: {
      seed,
      taskCount,
      testFraction,
      options,
      modes: ["full", "progress"],
      toolDocs,
      rlFamilies,
    },
  };
}

function bar(done: number, total: number, startMs: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max((performance.now() - startMs) / 1000, 1e-3);
  return `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} tasks ` +
    `${rate.toFixed(0)}/s`;
}

/**
 * Builds and writes the dataset; returns the card and the tasks-per-second figure. With
 * endpoints (the LLM writer, the model-aware check) tasks are built one request at a time.
 */
export async function runSynth(
  out: string,
  req: DatasetRequest,
  quiet = true,
  endpoints: SynthEndpoints = {},
) {
  const lines: Record<string, string[]> = {};
  const push = (file: string, line: string) => (lines[file] ??= []).push(line);
  const card = new DatasetCardBuilder();
  const pairs = plan(req);
  const start = performance.now();
  const enc = new TextEncoder();
  const eps: BuildEndpoints = {
    ...(endpoints.writer ? { writer: new LlmWriter(endpoints.writer) } : {}),
    ...(endpoints.policy ? { policy: endpoints.policy } : {}),
  };
  const stats = emptyEndpointStats();
  const used = { writer: !!endpoints.writer, policy: !!endpoints.policy };
  if (used.writer || used.policy) card.setEndpointStats(stats, used);
  for (let i = 0; i < pairs.length; i++) {
    const [split, index] = pairs[i]!;
    const ev = used.writer || used.policy
      ? await buildTaskWith(req, split, index, eps, stats)
      : buildTask(req, split, index);
    if (ev.kind !== "task") card.add(ev);
    else {
      const to = outputSplit(req, ev.task);
      // RL tasks have no SFT samples: the SFT model never sees their phrasings.
      card.add(to === "rl" ? { ...ev, samples: [] } : ev, to);
      push(`tasks/${to}.jsonl`, toJsonString(TaskSchema, taskToProto(ev.task)));
      for (const s of to === "rl" ? [] : ev.samples) {
        push(`${s.mode}/${to}.jsonl`, toJsonString(SftSampleSchema, sampleToProto(s)));
      }
    }
    if (!quiet && (i % 25 === 0 || i === pairs.length - 1)) {
      Deno.stderr.writeSync(enc.encode(bar(i + 1, pairs.length, start)));
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (!quiet) Deno.stderr.writeSync(enc.encode("\n"));
  for (const dir of ["tasks", ...req.modes]) {
    await Deno.mkdir(join(out, dir), { recursive: true });
    for (
      const split of dir === "tasks" && req.rlFamilies ? ["train", "test", "rl"] : ["train", "test"]
    ) {
      const ls = lines[`${dir}/${split}.jsonl`] ?? [];
      await Deno.writeTextFile(join(out, dir, `${split}.jsonl`), ls.map((l) => l + "\n").join(""));
    }
  }
  const c = card.card();
  await Deno.writeTextFile(join(out, "dataset_card.json"), JSON.stringify(c, null, 2) + "\n");
  await Deno.writeTextFile(join(out, "dataset_card.md"), cardMarkdown(c));
  return { card: c, tasksPerSec: pairs.length / seconds, seconds };
}

if (import.meta.main) {
  try {
    const { out, req, quiet, endpoints } = parseSynthArgs(Deno.args);
    const { card, tasksPerSec, seconds } = await runSynth(out, req, quiet, endpoints);
    console.log(JSON.stringify({
      out,
      tasks: card.taskCount,
      samples: card.sampleCount,
      dropped: card.droppedCount,
      dropRate: card.dropRate,
      seconds: Number(seconds.toFixed(2)),
      tasksPerSec: Number(tasksPerSec.toFixed(1)),
      meanPromptBytesByTurn: card.meanPromptBytesByTurn,
      ...(card.writer ? { writer: card.writer } : {}),
      ...(card.modelCheck ? { modelCheck: card.modelCheck } : {}),
    }));
  } catch (err) {
    console.error(
      err instanceof RangeError || err instanceof EndpointError ? err.message : err,
    );
    Deno.exit(2);
  }
}
