/** The SynthesisService handlers: a thin proto <-> domain adapter. */
import { create } from "@bufbuild/protobuf";
import { ContextMode, type Task } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import {
  AnnotatedStepSchema,
  type SynthesisService,
  type TaskGenOptions,
} from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { Code, RpcError, type ServiceImpl } from "@parlmt/grpc";
import { parsePyJson, PyDict } from "@parlmt/pycompat";
import { annotate } from "./annotate.ts";
import { buildTask, type DatasetRequest, plan } from "./dataset.ts";
import { DatasetCardBuilder } from "./dataset_card.ts";
import {
  DEFAULT_GEN_OPTIONS,
  generateTask,
  type GenOptions,
  validateGenOptions,
} from "./generate_tasks.ts";
import type { ContextModeName } from "./sft_samples.ts";
import { sampleToProto, taskToProto } from "./to_proto.ts";
import type { TraceInput } from "./trace.ts";
import { verifyAnnotation } from "./verify.ts";
import type { SynthesisConfig } from "./config.ts";

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Proto options (zero = default) → validated knobs; errors name `options.<field>`. */
export function genOptionsFromProto(o: TaskGenOptions | undefined): GenOptions {
  const d = DEFAULT_GEN_OPTIONS;
  const pick = (v: number | undefined, fallback: number) => (v ? v : fallback);
  const opts: GenOptions = {
    minTurns: pick(o?.minTurns, d.minTurns),
    maxTurns: pick(o?.maxTurns, Math.max(d.maxTurns, o?.minTurns ?? 0)),
    maxCallsPerTurn: pick(o?.maxCallsPerTurn, d.maxCallsPerTurn),
    maxDependencyDepth: pick(o?.maxDependencyDepth, d.maxDependencyDepth),
    longContextRate: o?.longContextRate ?? 0,
    missParamRate: o?.missParamRate ?? 0,
    missFuncRate: o?.missFuncRate ?? 0,
    classes: o?.classes ?? [],
    maxDistractors: o?.maxDistractors ?? 0,
  };
  try {
    return validateGenOptions(opts);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw invalid(
      err.message.replace(/option "(\w+)"/, (_, n: string) => `field "options.${snake(n)}"`),
    );
  }
}

function countOf(n: number, field: string, max: number): number {
  if (n < 1 || n > max) {
    throw invalid(`Invalid field "${field}": expected 1 to ${max} tasks, got ${n}`);
  }
  return n;
}

function seedOf(seed: bigint): number {
  if (seed > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(`Invalid field "seed": at most ${Number.MAX_SAFE_INTEGER}, got ${seed}`);
  }
  return Number(seed);
}

/** A Task message as a trace input (BFCL or synthetic). */
export function traceInputFromTask(task: Task, maxTurns: number): TraceInput {
  if (task.turns.length === 0 || task.turns.length > maxTurns) {
    throw invalid(
      `Invalid field "task.turns": expected 1 to ${maxTurns} turns, got ${task.turns.length}`,
    );
  }
  if (task.involvedClasses.length === 0) {
    throw invalid('Invalid field "task.involved_classes": must not be empty');
  }
  let config: PyDict;
  try {
    const parsed = task.initialConfigJson ? parsePyJson(task.initialConfigJson) : new PyDict();
    if (!(parsed instanceof PyDict)) throw new TypeError("not an object");
    config = parsed;
  } catch (err) {
    throw invalid(`Invalid field "task.initial_config_json": ${(err as Error).message}`);
  }
  let longContext = task.category.includes("long_context");
  try {
    const src = task.sourceJson ? JSON.parse(task.sourceJson) : {};
    if (typeof src.long_context === "boolean") longContext = src.long_context;
  } catch (_) {
    // source_json is informational; a malformed one leaves the category's default
  }
  return {
    id: task.id,
    classes: task.involvedClasses,
    initialConfig: config,
    longContext,
    user: task.turns.map((t) => t.userMessages.map((m) => m.content)),
    calls: task.turns.map((t) => t.groundTruthCalls),
  };
}

function modesOf(modes: ContextMode[]): ContextModeName[] {
  if (modes.length === 0) return ["full", "progress"];
  return modes.map((m, i) => {
    if (m === ContextMode.FULL) return "full";
    if (m === ContextMode.PROGRESS) return "progress";
    throw invalid(`Invalid field "context_modes[${i}]": unknown mode ${m}`);
  });
}

/** The handlers. */
export function synthesisService(config: SynthesisConfig): ServiceImpl<typeof SynthesisService> {
  return {
    async *generateTasks(req) {
      const split = req.split || "train";
      if (split !== "train" && split !== "test") {
        throw invalid(`Invalid field "split": expected "train" or "test", got "${req.split}"`);
      }
      const count = countOf(req.count, "count", config.maxTasksPerRequest);
      const options = genOptionsFromProto(req.options);
      const seed = seedOf(req.seed);
      for (let i = 0; i < count; i++) {
        yield { task: taskToProto(generateTask(seed, i, split, options)) };
        if (i % 16 === 15) await Promise.resolve();
      }
    },
    annotate(req) {
      if (req.policyUrl) {
        throw new RpcError(
          Code.UNIMPLEMENTED,
          "Cannot run the model-aware check: policy_url is not supported yet",
        );
      }
      let task: Task;
      if (req.source.case === "task") task = req.source.value;
      else if (req.source.case === "trajectory") {
        const tr = req.source.value;
        throw invalid(
          `Invalid field "trajectory": annotate trajectories by their task (task "${tr.taskId}")`,
        );
      } else throw invalid('Invalid field "source": set "task"');
      const input = traceInputFromTask(task, config.maxAnnotateTurns);
      let annotation;
      try {
        annotation = annotate(input);
      } catch (err) {
        throw invalid(`Cannot annotate task "${task.id}": ${(err as Error).message}`);
      }
      const verdicts = verifyAnnotation(annotation, input.user);
      return Promise.resolve({
        steps: annotation.steps.map((s, i) =>
          create(AnnotatedStepSchema, {
            turnIndex: s.turn,
            stepIndex: s.step,
            progress: {
              summary: [...s.progress.summary],
              plan: [...s.progress.plan],
              text: s.progress.text,
            },
            calls: [...s.calls],
            verification: { ok: verdicts[i]!.ok, reasons: [...verdicts[i]!.reasons] },
          })
        ),
        ok: verdicts.every((v) => v.ok),
      });
    },
    async *buildDataset(req) {
      const dreq: DatasetRequest = {
        seed: seedOf(req.seed),
        taskCount: countOf(req.taskCount, "task_count", config.maxTasksPerRequest),
        options: genOptionsFromProto(req.options),
        modes: modesOf(req.contextModes),
      };
      const card = new DatasetCardBuilder();
      for (const [split, index] of plan(dreq)) {
        const ev = buildTask(dreq, split, index);
        card.add(ev);
        if (ev.kind === "task") {
          for (const s of ev.samples) yield { event: { case: "sample", value: sampleToProto(s) } };
        }
        await Promise.resolve();
      }
      const c = card.card();
      yield {
        event: {
          case: "card",
          value: {
            taskCount: c.taskCount,
            sampleCount: c.sampleCount,
            droppedCount: c.droppedCount,
            statsJson: JSON.stringify(c),
          },
        },
      };
    },
  };
}
