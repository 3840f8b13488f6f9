/**
 * SFT samples of annotated τ-bench gold trajectories, in both context modes as sft_samples.ts
 * makes them for BFCL: `full` (the whole transcript before the step) and `progress` (the latest
 * progress block and the messages since it). The domain policy is the system message of every
 * sample (the rollout actor keeps it in both modes); the user message is the task instruction, as
 * the env-simulator's GetTask gives it.
 * @module
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Benchmark,
  ContextMode,
  Role,
  type Task,
  TaskSchema,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import {
  type AnnotateResponseSchema,
  type SftSample,
  SftSampleSchema,
} from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { type Domain, loadToolsInfo, loadWiki } from "../env-simulator/taubench/mod.ts";
import type { ContextModeName, PlainTool } from "./sft_samples.ts";
import { annotateTauById, type TauAnnotation } from "./taubench_annotate.ts";

/** One chat message of a τ-bench sample. */
export interface TauMessage {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
  /** The tool name (tool messages). */
  readonly name?: string;
}

/** One sample (the proto's SftSample, plain). */
export interface TauSample {
  readonly id: string;
  readonly taskId: string;
  readonly turnIndex: number;
  readonly stepIndex: number;
  readonly mode: ContextModeName;
  /** The τ-bench split (`test`, `train` or `dev`). */
  readonly split: string;
  readonly tools: readonly PlainTool[];
  readonly context: readonly TauMessage[];
  readonly target: string;
}

/** Options of {@linkcode tauTaskSamples}. */
export interface TauSampleOptions {
  /** @default {["full", "progress"]} */
  readonly modes?: readonly ContextModeName[];
  /** Put the domain policy (wiki) first as the system message. @default {true} */
  readonly policy?: boolean;
}

function compactParams(p: Record<string, unknown>): Record<string, unknown> {
  const props = (p.properties ?? {}) as Record<string, { type?: string }>;
  const out: Record<string, unknown> = { type: "dict", properties: {} };
  for (const [k, v] of Object.entries(props)) {
    (out.properties as Record<string, unknown>)[k] = { type: v.type ?? "string" };
  }
  if (Array.isArray(p.required)) out.required = p.required;
  return out;
}

const TOOLS = new Map<Domain, PlainTool[]>();

/** The compact tools of a domain (first sentence of each description, argument types only). */
export function tauTools(domain: Domain): PlainTool[] {
  let tools = TOOLS.get(domain);
  if (tools === undefined) {
    tools = loadToolsInfo(domain).map((info) => {
      const fn = (info as {
        function: { name: string; description?: string; parameters?: Record<string, unknown> };
      }).function;
      return {
        name: fn.name,
        description: (fn.description ?? "").split(/(?<=\.)\s/)[0]!.slice(0, 120),
        parameters: compactParams(fn.parameters ?? {}),
        className: domain,
      };
    });
    TOOLS.set(domain, tools);
  }
  return tools;
}

/** The samples of one annotated τ-bench task. */
export function tauTaskSamples(ann: TauAnnotation, opts: TauSampleOptions = {}): TauSample[] {
  const modes = opts.modes ?? ["full", "progress"];
  const { trace } = ann;
  const system: TauMessage[] = opts.policy === false
    ? []
    : [{ role: "system", content: loadWiki(trace.domain) }];
  const tools = tauTools(trace.domain);
  const transcript: TauMessage[] = trace.user.map((content) => ({ role: "user", content }));
  let lastAssistant = -1;
  const out: TauSample[] = [];
  for (const step of ann.steps) {
    for (const mode of modes) {
      const context = mode === "full"
        ? [...system, ...transcript]
        : [...system, ...transcript.slice(Math.max(lastAssistant, 0))];
      out.push({
        id: `${trace.id}:t${step.turn}:s${step.step}:${mode}`,
        taskId: trace.id,
        turnIndex: step.turn,
        stepIndex: step.step,
        mode,
        split: trace.split,
        tools,
        context,
        target: step.target,
      });
    }
    lastAssistant = transcript.length;
    transcript.push({ role: "assistant", content: step.target });
    step.calls.forEach((c, i) => {
      transcript.push({
        role: "tool",
        content: step.results[i]!,
        name: c.slice(0, c.indexOf("(")),
      });
    });
  }
  return out;
}

const ROLE = {
  system: Role.SYSTEM,
  user: Role.USER,
  assistant: Role.ASSISTANT,
  tool: Role.TOOL,
} as const;

/** A τ-bench sample as an SftSample message. */
export function tauSampleToProto(s: TauSample): SftSample {
  return create(SftSampleSchema, {
    id: s.id,
    taskId: s.taskId,
    turnIndex: s.turnIndex,
    stepIndex: s.stepIndex,
    contextMode: s.mode === "full" ? ContextMode.FULL : ContextMode.PROGRESS,
    split: s.split,
    tools: s.tools.map((t) => ({
      name: t.name,
      description: t.description,
      parametersJson: JSON.stringify(t.parameters),
      className: t.className,
    })),
    context: s.context.map((m) => ({ role: ROLE[m.role], content: m.content, name: m.name ?? "" })),
    target: s.target,
  });
}

/** The annotated task as a Task message (the env-simulator's GetTask shape). */
export function tauTaskToProto(ann: TauAnnotation): Task {
  const { trace } = ann;
  return create(TaskSchema, {
    id: trace.id,
    benchmark: Benchmark.TAUBENCH,
    category: trace.domain,
    involvedClasses: [trace.domain],
    turns: [{
      userMessages: trace.user.map((content) => ({ role: Role.USER, content })),
      groundTruthCalls: trace.steps.map((s) => s.call),
    }],
    split: trace.split,
    sourceJson: JSON.stringify({
      user_id: trace.task.userId,
      instruction: trace.task.instruction,
      outputs: trace.task.outputs,
    }),
  });
}

/**
 * The Annotate RPC's answer for a τ-bench task (`benchmark` TAUBENCH, id
 * `taubench_<domain>_<split>_<index>`): the annotated steps with their verdicts, in the shape
 * server.ts builds for BFCL. Throws RangeError for an unknown id (answer INVALID_ARGUMENT).
 */
export function tauAnnotateResponse(
  taskId: string,
): MessageInitShape<typeof AnnotateResponseSchema> {
  const { annotation, verification } = annotateTauById(taskId);
  return {
    steps: annotation.steps.map((s, i) => ({
      turnIndex: s.turn,
      stepIndex: s.step,
      progress: {
        summary: [...s.progress.summary],
        plan: [...s.progress.plan],
        text: s.progress.text,
      },
      calls: [...s.calls],
      verification: {
        ok: verification.verdicts[i]!.ok,
        reasons: [...verification.verdicts[i]!.reasons],
      },
    })),
    ok: verification.ok,
  };
}
