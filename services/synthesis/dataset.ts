/**
 * Dataset building: generate N tasks (train and held-out test), annotate and verify each, drop the
 * tasks whose blocks do not verify, and emit tasks and SFT samples in both context modes with the
 * statistics of the dataset card. Deterministic per seed.
 * @module
 */
import { annotate } from "./annotate.ts";
import type { Split } from "./entities.ts";
import { generateTask, type GenOptions, type SynthTask } from "./generate_tasks.ts";
import {
  type ContextModeName,
  type PlainSample,
  taskSamples,
  visibleTools,
} from "./sft_samples.ts";
import { emptyWriterStats, type LlmWriter, type WriterStats } from "./llm_writer.ts";
import { annotationCheckSteps, chatTools, modelCheck } from "./model_check.ts";
import type { Endpoint } from "./openai_endpoint.ts";
import type { TraceInput } from "./trace.ts";
import { verifyAnnotation } from "./verify.ts";
import { REPLY_ASK, REPLY_NO_FUNCTION, splitFamilies } from "./templates.ts";
import { DatasetCardBuilder } from "./dataset_card.ts";
import type { ToolDocStyle } from "@parlmt/tokenizer";

/** What to build. */
export interface DatasetRequest {
  readonly seed: number;
  /** Tasks in all (train + test). */
  readonly taskCount: number;
  /** Fraction held out for test. @default 0.2 */
  readonly testFraction?: number;
  readonly options: GenOptions;
  readonly modes: readonly ContextModeName[];
  /** How samples list tools. @default "brief" */
  readonly toolDocs?: ToolDocStyle;
  /**
   * Train phrasing families kept for RL (0-3): train tasks worded in the last N of the four
   * train families get no SFT samples and form the `rl` task split, so RL meets phrasings the
   * SFT model never saw (the test split's families stay unseen by both). @default 0
   */
  readonly rlFamilies?: number;
}

/** The split a built task is written to: `train` tasks in an RL family go to `rl`. */
export function outputSplit(req: DatasetRequest, task: SynthTask): Split | "rl" {
  const n = req.rlFamilies ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 3) {
    throw new RangeError(`Invalid option "rlFamilies": expected an integer in [0, 3], got ${n}`);
  }
  if (task.split !== "train" || n === 0) return task.split;
  const rl = splitFamilies("train").slice(-n).map((f) => `f${f}`);
  return rl.includes(task.family) ? "rl" : "train";
}

/** One event of a build. */
export type DatasetEvent =
  | { readonly kind: "task"; readonly task: SynthTask; readonly samples: readonly PlainSample[] }
  | { readonly kind: "dropped"; readonly id: string; readonly reasons: readonly string[] };

/** The trace input of a synthetic task. */
export function synthTraceInput(task: SynthTask): TraceInput {
  return {
    id: task.id,
    classes: task.classes,
    initialConfig: task.initialConfig,
    longContext: task.longContext,
    user: task.turns.map((t) => t.user),
    calls: task.turns.map((t) => t.calls),
  };
}

/** Replies of turns without calls: ask for the missing value, or say a function is missing. */
export function synthReply(task: SynthTask): (turn: number) => string {
  return (turn) => {
    const t = task.turns[turn]!;
    return t.clarify ? REPLY_ASK.replace("{label}", t.askLabel ?? "value") : REPLY_NO_FUNCTION;
  };
}

/** The (split, index) pairs of a build, test tasks interleaved evenly. */
export function plan(req: DatasetRequest): [Split, number][] {
  const nTest = Math.round(req.taskCount * (req.testFraction ?? 0.2));
  const out: [Split, number][] = [];
  let tr = 0;
  let te = 0;
  for (let i = 0; i < req.taskCount; i++) {
    const wantTest = Math.floor(((i + 1) * nTest) / req.taskCount) > te;
    out.push(wantTest ? ["test", te++] : ["train", tr++]);
  }
  return out;
}

function generateOrDrop(
  req: DatasetRequest,
  split: Split,
  index: number,
): SynthTask | DatasetEvent {
  try {
    return generateTask(req.seed, index, split, req.options);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { kind: "dropped", id: `synth_${split}_${req.seed}_${index}`, reasons: [err.message] };
  }
}

/** Builds one task: generate, annotate, verify, sample. */
export function buildTask(req: DatasetRequest, split: Split, index: number): DatasetEvent {
  const task = generateOrDrop(req, split, index);
  if ("kind" in task) return task;
  const input = synthTraceInput(task);
  const annotation = annotate(input, { noCallReply: synthReply(task) });
  const reasons = verifyAnnotation(annotation, input.user).flatMap((v) => v.reasons);
  if (reasons.length > 0) return { kind: "dropped", id: task.id, reasons };
  return { kind: "task", task, samples: taskSamples(task, annotation, req.modes, req.toolDocs) };
}

/** The optional endpoints of a build (both off by default). */
export interface BuildEndpoints {
  /** The LLM writer: paraphrases user turns and rewrites summaries (all verified). */
  readonly writer?: LlmWriter;
  /** The model-aware check: a task with a block the policy cannot follow is dropped. */
  readonly policy?: Endpoint;
}

/** What the endpoints did over a build (the card's `writer` and `modelCheck` sections). */
export interface EndpointStats {
  readonly writer: WriterStats;
  readonly modelCheck: { steps: number; failed: number; droppedTasks: number };
}

/** Fresh endpoint stats. */
export function emptyEndpointStats(): EndpointStats {
  return { writer: emptyWriterStats(), modelCheck: { steps: 0, failed: 0, droppedTasks: 0 } };
}

/**
 * Builds one task with the writer and/or the model-aware check; without either it is `buildTask`.
 * Endpoint failures (unreachable, HTTP errors) throw EndpointError.
 */
export async function buildTaskWith(
  req: DatasetRequest,
  split: Split,
  index: number,
  eps: BuildEndpoints,
  stats: EndpointStats,
): Promise<DatasetEvent> {
  if (!eps.writer && !eps.policy) return buildTask(req, split, index);
  const generated = generateOrDrop(req, split, index);
  if ("kind" in generated) return generated;
  const opts = { noCallReply: synthReply(generated) };
  const task = eps.writer
    ? await eps.writer.writeTask(generated, synthTraceInput, opts, stats.writer)
    : generated;
  const input = synthTraceInput(task);
  let annotation = annotate(input, opts);
  const reasons = verifyAnnotation(annotation, input.user).flatMap((v) => v.reasons);
  if (reasons.length > 0) return { kind: "dropped", id: task.id, reasons };
  if (eps.writer) {
    annotation = await eps.writer.writeSummaries(annotation, input.user, stats.writer);
  }
  if (eps.policy) {
    const steps = annotationCheckSteps(
      annotation,
      input.user,
      (turn) =>
        chatTools(
          visibleTools(task.classes, task.missedFunction, turn, {
            offered: task.offered,
            style: req.toolDocs,
          }),
        ),
    );
    const report = await modelCheck(eps.policy, steps);
    stats.modelCheck.steps += steps.length;
    stats.modelCheck.failed += report.failed;
    if (report.failed > 0) {
      stats.modelCheck.droppedTasks++;
      return { kind: "dropped", id: task.id, reasons: report.verdicts.flatMap((v) => v.reasons) };
    }
  }
  return { kind: "task", task, samples: taskSamples(task, annotation, req.modes, req.toolDocs) };
}

/** Builds the dataset, task by task (`onEvent` sees each; the card is returned at the end). */
export function* buildDataset(req: DatasetRequest, card = new DatasetCardBuilder()) {
  for (const [split, index] of plan(req)) {
    const ev = buildTask(req, split, index);
    card.add(ev);
    yield ev;
  }
  return card;
}
