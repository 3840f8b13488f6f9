/** Conversions between the synthesis domain types and the parlmt.v1 messages. */
import { create } from "@bufbuild/protobuf";
import {
  Benchmark,
  ContextMode,
  Role,
  type Task,
  TaskSchema,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import {
  AnnotatedStepSchema,
  AnnotateResponseSchema,
  type SftSample,
  SftSampleSchema,
} from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { pyJsonDumps } from "@parlmt/pycompat";
import type { AnnotatedStep } from "./annotate.ts";
import type { SynthTask } from "./generate_tasks.ts";
import type { BlockVerdict } from "./verify.ts";
import type { PlainSample } from "./sft_samples.ts";

/** A synthetic task as a Task message (source_json keeps split, family, entities, intents). */
export function taskToProto(t: SynthTask): Task {
  return create(TaskSchema, {
    id: t.id,
    benchmark: Benchmark.SYNTHETIC,
    category: t.turns.some((x) => x.clarify)
      ? "miss_param"
      : t.turns.some((x) => x.lacks)
      ? "miss_func"
      : t.longContext
      ? "long_context"
      : "base",
    involvedClasses: [...t.classes],
    initialConfigJson: pyJsonDumps(t.initialConfig),
    turns: t.turns.map((turn) => ({
      userMessages: turn.user.map((content) => ({ role: Role.USER, content })),
      groundTruthCalls: [...turn.calls],
      revealedFunctions: [...turn.revealed],
      expectsClarification: turn.clarify,
    })),
    split: t.split,
    templateFamily: t.family,
    offeredFunctions: [...(t.offered ?? [])],
    sourceJson: JSON.stringify({
      long_context: t.longContext,
      missed_function: t.missedFunction,
      entities: t.entities,
      intents: t.turns.map((x) => x.intent),
      ask_labels: t.turns.map((x) => x.askLabel ?? ""),
      lacks: t.turns.map((x) => x.lacks ?? ""),
    }),
  });
}

const ROLE = {
  system: Role.SYSTEM,
  user: Role.USER,
  assistant: Role.ASSISTANT,
  tool: Role.TOOL,
} as const;

/** A plain sample as an SftSample message. */
export function sampleToProto(s: PlainSample): SftSample {
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

/** The Annotate RPC's answer: every block with its verdict (and model check, when run). */
export function annotateResponse(
  steps: readonly AnnotatedStep[],
  verdicts: readonly BlockVerdict[],
  checks:
    | { verdicts: readonly (BlockVerdict | undefined)[]; failed: number; dropRate: number }
    | null,
) {
  return create(AnnotateResponseSchema, {
    steps: steps.map((s, i) =>
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
        ...(checks?.verdicts[i]
          ? {
            modelCheck: { ok: checks.verdicts[i]!.ok, reasons: [...checks.verdicts[i]!.reasons] },
          }
          : {}),
      })
    ),
    ok: verdicts.every((v) => v.ok) && (checks?.failed ?? 0) === 0,
    modelCheckFailed: checks?.failed ?? 0,
    modelCheckDropRate: checks?.dropRate ?? 0,
  });
}
