/**
 * Dataset building: generate N tasks (train and held-out test), annotate and verify each, drop the
 * tasks whose blocks do not verify, and emit tasks and SFT samples in both context modes with the
 * statistics of the dataset card. Deterministic per seed.
 * @module
 */
import { annotate } from "./annotate.ts";
import type { Split } from "./entities.ts";
import { generateTask, type GenOptions, type SynthTask } from "./generate_tasks.ts";
import { type ContextModeName, type PlainSample, taskSamples } from "./sft_samples.ts";
import type { TraceInput } from "./trace.ts";
import { verifyAnnotation } from "./verify.ts";
import { REPLY_ASK, REPLY_NO_FUNCTION } from "./templates.ts";
import { DatasetCardBuilder } from "./dataset_card.ts";

/** What to build. */
export interface DatasetRequest {
  readonly seed: number;
  /** Tasks in all (train + test). */
  readonly taskCount: number;
  /** Fraction held out for test. @default 0.2 */
  readonly testFraction?: number;
  readonly options: GenOptions;
  readonly modes: readonly ContextModeName[];
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

/** Builds one task: generate, annotate, verify, sample. */
export function buildTask(req: DatasetRequest, split: Split, index: number): DatasetEvent {
  let task: SynthTask;
  try {
    task = generateTask(req.seed, index, split, req.options);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { kind: "dropped", id: `synth_${split}_${req.seed}_${index}`, reasons: [err.message] };
  }
  const input = synthTraceInput(task);
  const annotation = annotate(input, { noCallReply: synthReply(task) });
  const reasons = verifyAnnotation(annotation, input.user).flatMap((v) => v.reasons);
  if (reasons.length > 0) return { kind: "dropped", id: task.id, reasons };
  return { kind: "task", task, samples: taskSamples(task, annotation, req.modes) };
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
