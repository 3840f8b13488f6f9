/**
 * The domain form of a generation request (no wire types), its validation with errors that
 * name the field, and the rendering of chat messages to the turn format.
 */
import { callSourceFromJson } from "@parlmt/bfcl";
import type { TurnMessage, TurnTool } from "@parlmt/tokenizer";
import { InvalidRequestError } from "./errors.ts";

/** A tool call of an assistant message. */
export interface ChatToolCall {
  readonly id: string;
  readonly name: string;
  /** Arguments as a JSON object. */
  readonly argumentsJson: string;
  /** The call in BFCL's Python syntax, when known. */
  readonly source: string;
}

/** One chat message. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
  readonly toolCalls?: readonly ChatToolCall[];
  /** For role "tool": the id of the call this output answers. */
  readonly toolCallId?: string;
}

/** A function the model may call. */
export interface ToolDoc {
  readonly name: string;
  readonly description: string;
  /** JSON schema of the parameters. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** The prompt: chat messages (rendered by the model's template) or token ids. */
export type Prompt =
  | {
    readonly kind: "chat";
    readonly messages: readonly ChatMessage[];
    readonly tools: readonly ToolDoc[];
  }
  | { readonly kind: "tokens"; readonly ids: readonly number[] };

/** Sampling parameters as sent (0 = server default where noted). */
export interface SamplingRequest {
  /** 0 = greedy. */
  readonly temperature: number;
  /** 0 = 1. */
  readonly topP: number;
  /** 0 = off. */
  readonly topK: number;
  readonly seed?: bigint;
  /** 0 = the server's default. */
  readonly maxTokens: number;
  readonly stop: readonly string[];
}

/** One generation request. */
export interface GenerateInput {
  /** Model id ("" = the default model). */
  readonly model: string;
  readonly prompt: Prompt;
  readonly sampling: SamplingRequest;
  readonly constrained: boolean;
  /** 0 = follow the newest weights. */
  readonly pinVersion: bigint;
}

/** Limits applied to every request. */
export interface RequestLimits {
  /** Largest max_tokens. */
  readonly maxNewTokens: number;
  /** max_tokens when the request leaves it 0. */
  readonly defaultMaxTokens: number;
  readonly maxStopStrings: number;
  /** Longest prompt in tokens (0 = the model's context less one). */
  readonly maxPromptTokens: number;
}

/** Throws InvalidRequestError naming the first bad sampling field. */
export function validateSampling(s: SamplingRequest, limits: RequestLimits): void {
  const bad = (field: string, value: unknown, why: string) => {
    throw new InvalidRequestError(`Invalid ${field} ${JSON.stringify(value)}: ${why}`);
  };
  if (!Number.isFinite(s.temperature) || s.temperature < 0 || s.temperature > 100) {
    bad("temperature", s.temperature, "must be in [0, 100]");
  }
  if (!Number.isFinite(s.topP) || s.topP < 0 || s.topP > 1) {
    bad("top_p", s.topP, "must be in [0, 1]");
  }
  if (!Number.isInteger(s.topK) || s.topK < 0) bad("top_k", s.topK, "must be ≥ 0");
  if (!Number.isInteger(s.maxTokens) || s.maxTokens < 0 || s.maxTokens > limits.maxNewTokens) {
    bad("max_tokens", s.maxTokens, `must be in [0, ${limits.maxNewTokens}]`);
  }
  if (s.stop.length > limits.maxStopStrings) {
    bad("stop", `${s.stop.length} strings`, `at most ${limits.maxStopStrings}`);
  }
  for (const x of s.stop) {
    if (typeof x !== "string" || x.length === 0 || x.length > 256) {
      bad("stop", x, "each stop string must have 1 to 256 characters");
    }
  }
  if (s.seed !== undefined && (s.seed < 0n || s.seed >= 1n << 64n)) {
    bad("seed", String(s.seed), "must be a uint64");
  }
}

/** The BFCL source of a call from its JSON arguments: `name(key='v', n=1)`. */
export function callSource(name: string, argumentsJson: string): string {
  try {
    return callSourceFromJson(name, argumentsJson);
  } catch (err) {
    throw new InvalidRequestError(
      `Invalid tool_calls arguments of "${name}": ${(err as Error).message}`,
    );
  }
}

/** Chat messages as turn messages: an assistant's calls become its `[...]` call list. */
export function toTurnMessages(messages: readonly ChatMessage[]): TurnMessage[] {
  return messages.map((m) => {
    if (!m.toolCalls?.length) return { role: m.role, content: m.content };
    const calls = m.toolCalls.map((c) => c.source || callSource(c.name, c.argumentsJson));
    return { role: m.role, content: m.content + `[${calls.join(", ")}]` };
  });
}

/** Tool docs as the template lists them. */
export function toTurnTools(tools: readonly ToolDoc[]): TurnTool[] {
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    parameters: t.parameters,
  }));
}
