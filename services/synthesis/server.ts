/** The SynthesisService handlers: a thin proto <-> domain adapter. */
import {
  Benchmark,
  ContextMode,
  type Task,
  type Trajectory,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { type SynthesisService, type TaskGenOptions } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { Code, RpcError, type ServiceImpl } from "@parlmt/grpc";
import { parsePyJson, PyDict } from "@parlmt/pycompat";
import { getTask, parseCall, renderCall } from "@parlmt/bfcl";
import { annotate } from "./annotate.ts";
import {
  annotateTrajectory,
  type TrajectoryInput,
  verifyTrajectoryAnnotation,
} from "./annotate_trajectory.ts";
import { bfclTraceInput } from "./bfcl_source.ts";
import {
  buildTask,
  buildTaskWith,
  type DatasetRequest,
  emptyEndpointStats,
  plan,
} from "./dataset.ts";
import { LlmWriter } from "./llm_writer.ts";
import { annotateResponse } from "./to_proto.ts";
import { tauAnnotateResponse } from "./taubench_samples.ts";
import {
  annotationCheckSteps,
  chatTools,
  type CheckStep,
  modelCheck,
  type ModelCheckReport,
} from "./model_check.ts";
import {
  callFromJson,
  type ChatTool,
  type Endpoint,
  EndpointError,
  validateBaseUrl,
} from "./openai_endpoint.ts";
import { visibleTools } from "./sft_samples.ts";
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
import { type BlockVerdict, verifyAnnotation } from "./verify.ts";
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

/** The endpoint of Annotate's model-aware check; errors name `policy_url`. */
function policyEndpoint(url: string, model: string, config: SynthesisConfig): Endpoint {
  try {
    return {
      baseUrl: validateBaseUrl(url, 'field "policy_url"'),
      model: model || "parlmt-policy",
      apiKey: config.policyApiKey,
      timeoutMs: config.endpointTimeoutMs,
    };
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

/** An endpoint failure as a status: unreachable or 5xx → UNAVAILABLE, else FAILED_PRECONDITION. */
function endpointRpcError(err: unknown): unknown {
  if (!(err instanceof EndpointError)) return err;
  const code = err.status === 0 || err.status >= 500 ? Code.UNAVAILABLE : Code.FAILED_PRECONDITION;
  return new RpcError(code, err.message);
}

async function runCheck(ep: Endpoint, steps: CheckStep[]): Promise<ModelCheckReport> {
  try {
    return await modelCheck(ep, steps, { field: "policy_url" });
  } catch (err) {
    throw endpointRpcError(err);
  }
}

/** The compact tools of a Task message at each turn (functions revealed later are hidden). */
function taskTools(task: Task): (turn: number) => ChatTool[] {
  const missed: Record<string, string[]> = {};
  task.turns.forEach((t, i) => {
    if (t.revealedFunctions.length > 0) missed[String(i)] = [...t.revealedFunctions];
  });
  return (turn) => {
    try {
      return chatTools(visibleTools(task.involvedClasses, missed, turn));
    } catch (err) {
      throw invalid(`Invalid field "task.involved_classes": ${(err as Error).message}`);
    }
  };
}

/** A Trajectory message (plus its task, or a BFCL task id) as a trajectory input. */
export function trajectoryInputFromProto(
  tr: Trajectory,
  task: Task | undefined,
  maxTurns: number,
): TrajectoryInput {
  if (tr.turns.length === 0 || tr.turns.length > maxTurns) {
    throw invalid(
      `Invalid field "trajectory.turns": expected 1 to ${maxTurns} turns, got ${tr.turns.length}`,
    );
  }
  let env: Omit<TraceInput, "user" | "calls">;
  let taskTruth: readonly (readonly string[])[] = [];
  if (task) {
    const t = traceInputFromTask(task, maxTurns);
    env = t;
    taskTruth = t.calls;
  } else {
    const bfcl = getTask(tr.taskId);
    if (!bfcl) {
      throw invalid(
        `Invalid field "trajectory_task": needed, "${tr.taskId}" is not a BFCL task id`,
      );
    }
    env = bfclTraceInput(bfcl);
    taskTruth = bfcl.groundTruth;
  }
  const truth = tr.taskTurns.length > 0 ? tr.taskTurns.map((t) => t.groundTruthCalls) : taskTruth;
  if (truth.length < tr.turns.length) {
    throw invalid(
      `Invalid field "trajectory.task_turns": ${truth.length} turns of ground truth for ` +
        `${tr.turns.length} executed turns`,
    );
  }
  const executed = tr.turns.map((turn, t) =>
    turn.steps.flatMap((step, s) =>
      step.calls.map((c, i) => {
        let call: string;
        try {
          call = renderCall(parseCall(c.source || callFromJson(c.name, c.argumentsJson)));
        } catch (err) {
          throw invalid(
            `Invalid field "trajectory.turns[${t}].steps[${s}].calls[${i}]": ` +
              (err as Error).message,
          );
        }
        return { call, output: step.results[i]?.output ?? "" };
      })
    )
  );
  return {
    ...env,
    user: tr.turns.map((t) => t.userMessages.map((m) => m.content)),
    executed,
    groundTruth: truth,
  };
}

async function annotateTrajectoryRpc(
  tr: Trajectory,
  task: Task | undefined,
  policy: Endpoint | null,
  config: SynthesisConfig,
) {
  const input = trajectoryInputFromProto(tr, task, config.maxAnnotateTurns);
  let ann;
  try {
    ann = annotateTrajectory(input);
  } catch (err) {
    throw invalid(`Cannot annotate trajectory "${tr.id}": ${(err as Error).message}`);
  }
  const verdicts = verifyTrajectoryAnnotation(ann);
  let checks = null;
  if (policy) {
    const tools = task ? taskTools(task) : (turn: number) => {
      const bfcl = getTask(tr.taskId)!;
      const missed = Object.fromEntries([...bfcl.missedFunction].map(([k, v]) => [String(k), v]));
      return chatTools(visibleTools(input.classes, missed, turn));
    };
    // Steps whose next ground-truth call is not fully known yet are not checked.
    const idx = ann.steps.map((_, i) => i).filter((i) =>
      ann.expected[i] !== null || ann.remaining[i]!.length === 0
    );
    const report = await runCheck(
      policy,
      idx.map((i) => {
        const s = ann.steps[i]!;
        return {
          turn: s.turn,
          step: s.step,
          block: s.progress.text,
          user: input.user[s.turn] ?? [],
          tools: tools(s.turn),
          expected: ann.expected[i]!,
        };
      }),
    );
    const all: (BlockVerdict | undefined)[] = ann.steps.map(() => undefined);
    idx.forEach((i, j) => (all[i] = report.verdicts[j]));
    checks = { verdicts: all, failed: report.failed, dropRate: report.dropRate };
  }
  return annotateResponse(ann.steps, verdicts, checks);
}

/** The handlers. */
export function synthesisService(config: SynthesisConfig): ServiceImpl<typeof SynthesisService> {
  let writer: LlmWriter | undefined;
  if (config.writerUrl) {
    if (!config.writerModel) throw new RangeError('Config "writerModel" is needed by "writerUrl"');
    writer = new LlmWriter({
      baseUrl: validateBaseUrl(config.writerUrl, 'config "writerUrl"'),
      model: config.writerModel,
      apiKey: config.writerApiKey,
      timeoutMs: config.endpointTimeoutMs,
    });
  }
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
    async annotate(req) {
      const policy = req.policyUrl ? policyEndpoint(req.policyUrl, req.policyModel, config) : null;
      if (req.source.case === "trajectory") {
        return await annotateTrajectoryRpc(req.source.value, req.trajectoryTask, policy, config);
      }
      if (req.source.case !== "task") throw invalid('Invalid field "source": set "task"');
      const task = req.source.value;
      if (task.benchmark === Benchmark.TAUBENCH) {
        // τ-bench gold trajectories: the task id names a vendored task.
        try {
          return tauAnnotateResponse(task.id);
        } catch (err) {
          if (err instanceof RangeError || err instanceof TypeError) {
            throw invalid(`Cannot annotate τ-bench task "${task.id}": ${err.message}`);
          }
          throw err;
        }
      }
      const input = traceInputFromTask(task, config.maxAnnotateTurns);
      let annotation;
      try {
        annotation = annotate(input);
      } catch (err) {
        throw invalid(`Cannot annotate task "${task.id}": ${(err as Error).message}`);
      }
      const verdicts = verifyAnnotation(annotation, input.user);
      const checks = policy
        ? await runCheck(
          policy,
          annotationCheckSteps(annotation, input.user, taskTools(task)),
        )
        : null;
      return annotateResponse(annotation.steps, verdicts, checks);
    },
    async *buildDataset(req) {
      const dreq: DatasetRequest = {
        seed: seedOf(req.seed),
        taskCount: countOf(req.taskCount, "task_count", config.maxTasksPerRequest),
        options: genOptionsFromProto(req.options),
        modes: modesOf(req.contextModes),
      };
      const card = new DatasetCardBuilder();
      const stats = emptyEndpointStats();
      if (writer) card.setEndpointStats(stats, { writer: true, policy: false });
      for (const [split, index] of plan(dreq)) {
        let ev;
        try {
          ev = writer
            ? await buildTaskWith(dreq, split, index, { writer }, stats)
            : buildTask(dreq, split, index);
        } catch (err) {
          throw endpointRpcError(err);
        }
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
