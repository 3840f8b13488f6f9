/**
 * One episode of a BFCL-environment task, as one readable loop: open a session, then for every
 * user turn let the policy write (progress block +) calls, execute them, feed the results back,
 * until it replies in text, the step limit ends the turn, or its output does not parse; then
 * run the checker and return the trajectory with the exact tokens, logprobs and weights version
 * of every generation.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Arm,
  type ContextMode,
  type FunctionDoc,
  type Task,
  type Trajectory,
  TrajectorySchema,
  type TrajectoryStepSchema,
  type TrajectoryTurnSchema,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import type { PolicyService, SamplingParamsSchema } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { type Client, Code, RpcError } from "@parlmt/grpc";
import {
  type AssistantParts,
  compactToolDoc,
  parseAssistantText,
  parseProgress,
  type ToolDocStyle,
} from "@parlmt/tokenizer";
import { buildContext, type TranscriptMessage } from "./context.ts";

/**
 * A progress block as recorded in a trajectory: its text, and its summary lines and planned
 * calls when it is well formed (the learner's awareness-alignment term compares the plan with
 * the calls that follow it).
 */
export function progressBlock(
  text: string,
): { text: string; summary: string[]; plan: string[] } {
  const block = parseProgress(`<progress>${text}</progress>`);
  return { text, summary: block?.summary ?? [], plan: block?.plan ?? [] };
}

/** What an episode needs. */
export interface EpisodeDeps {
  env: Client<typeof EnvService>;
  policy: Client<typeof PolicyService>;
}

/** Options of {@linkcode runEpisode}. */
export interface EpisodeOptions {
  contextMode: ContextMode;
  sampling: MessageInitShape<typeof SamplingParamsSchema>;
  /** Generations per turn before the turn is ended. @default {20} (BFCL's step limit) */
  maxStepsPerTurn?: number;
  /** Restrict output to the turn format and the offered tools. @default {false} */
  constrained?: boolean;
  /** How tool docs are sent: as the SFT data lists them (`brief` or `signature`) or `full`. @default {"brief"} */
  toolDocs?: ToolDocStyle;
  /**
   * Whether every step must open with a `<progress>` block (the arms trained on PAG data); a
   * step without one is a format error. @default {false}
   */
  progressBlocks?: boolean;
  signal?: AbortSignal;
}

/** The tool list as the policy sees it. */
export function toolsForPolicy(tools: readonly FunctionDoc[], style: ToolDocStyle): FunctionDoc[] {
  if (style === "full") return [...tools];
  return tools.map((t) => {
    const c = compactToolDoc({
      name: t.name,
      description: t.description,
      parameters: t.parametersJson ? JSON.parse(t.parametersJson) : {},
    }, style);
    return { ...t, description: c.description, parametersJson: JSON.stringify(c.parameters) };
  });
}

/**
 * Whether the policy of `arm` was trained to open every step with a progress block: all arms
 * but multi-turn GRPO on raw transcripts (and an unspecified arm, which is not checked).
 */
export function armWritesProgress(arm: Arm): boolean {
  return arm !== Arm.MT_GRPO && arm !== Arm.UNSPECIFIED;
}

/** A progress tag outside the leading block: an unclosed or repeated block. */
const STRAY_PROGRESS_TAG = /<\/?progress>/;

/**
 * Whether a step broke the turn format before anything ran: a missing progress block where the
 * arm writes them, a progress tag left open or repeated, an empty reply, or a call list that
 * does not split into calls. (Calls the environment cannot parse are found when they run.)
 */
export function stepFormatError(parts: AssistantParts, progressBlocks: boolean): boolean {
  if (progressBlocks && parts.progress === null) return true;
  if (STRAY_PROGRESS_TAG.test(parts.rest)) return true;
  if (parts.calls !== null && parts.calls.length > 0) return false;
  return parts.rest.startsWith("[") || parts.rest.length === 0;
}

/** The policy refused the prompt because it outgrew the model's context. */
function isContextOverflow(err: unknown): boolean {
  return err instanceof RpcError && err.code === Code.INVALID_ARGUMENT &&
    /Invalid prompt: \d+ tokens exceed/.test(err.message);
}

/** Runs `task` to the end and returns its trajectory (not yet submitted). */
export async function runEpisode(
  deps: EpisodeDeps,
  task: Task,
  options: EpisodeOptions,
): Promise<Trajectory> {
  const { env, policy } = deps;
  const { signal, maxStepsPerTurn = 20 } = options;
  const startedAtMs = BigInt(Date.now());
  const opened = await env.createSession({ source: { case: "task", value: task } }, { signal });
  const sessionId = opened.sessionId;
  const transcript: TranscriptMessage[] = [];
  const turns: MessageInitShape<typeof TrajectoryTurnSchema>[] = [];
  let tools: FunctionDoc[] = opened.tools;
  let userMessages = opened.userMessages;
  let contextOverflow = false;
  try {
    for (let turnIndex = 0; !contextOverflow; turnIndex++) {
      for (const m of userMessages) transcript.push({ role: "user", content: m.content });
      const steps: MessageInitShape<typeof TrajectoryStepSchema>[] = [];
      let finalText = "";
      for (let step = 0; step < maxStepsPerTurn; step++) {
        signal?.throwIfAborted();
        const generated = await policy.generate({
          params: {
            prompt: {
              case: "chat",
              value: {
                messages: buildContext(transcript, options.contextMode),
                tools: toolsForPolicy(tools, options.toolDocs ?? "brief"),
              },
            },
            sampling: options.sampling,
            constrained: options.constrained ?? false,
          },
        }, { signal }).catch((err) => {
          if (!isContextOverflow(err)) throw err;
          contextOverflow = true;
          return undefined;
        });
        if (!generated) break;
        const { generation } = generated;
        const text = generation?.text ?? "";
        const parts = parseAssistantText(text);
        transcript.push({
          role: "assistant",
          content: text,
          progress: parts.progress ?? undefined,
        });
        const record: MessageInitShape<typeof TrajectoryStepSchema> = {
          generation,
          progress: parts.progress !== null ? progressBlock(parts.progress) : undefined,
        };
        steps.push(record);
        record.formatError = stepFormatError(parts, options.progressBlocks ?? false);
        if (parts.calls === null || parts.calls.length === 0) {
          // A text reply ends the turn; so does output that is neither a reply nor calls.
          record.reply = parts.rest;
          finalText = parts.rest;
          break;
        }
        let executed;
        try {
          executed = await env.execute({
            sessionId,
            calls: { case: "source", value: `[${parts.calls.join(", ")}]` },
          }, { signal });
        } catch (err) {
          // Calls that do not parse end the turn, as in BFCL; the step is a format error.
          record.formatError = true;
          finalText = text;
          if (err instanceof RpcError && err.code === Code.INVALID_ARGUMENT) break;
          throw err;
        }
        record.calls = executed.results.map((r) => r.call!);
        record.results = executed.results;
        for (const r of executed.results) transcript.push({ role: "tool", content: r.output });
        if (executed.forceTerminated) break;
      }
      if (contextOverflow) {
        if (steps.length > 0) turns.push({ turnIndex, userMessages, steps });
        break;
      }
      const next = await env.advanceTurn({ sessionId, assistantText: finalText }, { signal })
        .catch((err) => {
          // A force-terminated episode cannot advance: it is over.
          if (err instanceof RpcError && err.code === Code.FAILED_PRECONDITION) return undefined;
          throw err;
        });
      const { stateJson } = await env.getState({ sessionId }, { signal });
      turns.push({ turnIndex, userMessages, steps, stateJson });
      if (!next || next.done) break;
      userMessages = next.userMessages;
      tools = next.tools;
    }
    const { result } = await env.evaluate({ sessionId }, { signal });
    return create(TrajectorySchema, {
      taskId: task.id,
      contextMode: options.contextMode,
      turns,
      check: result,
      startedAtMs,
      finishedAtMs: BigInt(Date.now()),
      taskTurns: task.turns,
      contextOverflow,
    });
  } finally {
    await env.closeSession({ sessionId }).catch(() => {
      // The session expires by TTL anyway; a failed close must not hide the episode's error.
    });
  }
}
