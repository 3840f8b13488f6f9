/**
 * The reference's LLM user simulator (`LLMUserSimulationEnv`, strategy `llm`) over any
 * OpenAI-compatible `/chat/completions` endpoint: the verbatim system prompt, role inversion
 * (the simulator's own lines are `assistant`, the agent's text replies are `user`), the opening
 * `"Hi! How can I help you today?"`, and no temperature unless configured.
 * @module
 */
import { postChatCompletion } from "@parlmt/openai";
import type { UserSimulator } from "./user.ts";

/** The simulator's system prompt for an instruction (verbatim from the reference). */
export function userSystemPrompt(instruction: string): string {
  return `You are a user interacting with an agent.

Instruction: ${instruction}
Rules:
- Just generate one line at a time to simulate the user's message.
- Do not give away all the instruction at once. Only provide the information that is necessary for the current step.
- Do not hallucinate information that is not provided in the instruction. For example, if the agent asks for the order id but it is not mentioned in the instruction, do not make up an order id, just say you do not remember or have it.
- If the instruction goal is satisified, generate '###STOP###' as a standalone message without anything else to end the conversation.
- Do not repeat the exact instruction in the conversation. Instead, use your own words to convey the same information.
- Try to make the conversation as natural as possible, and stick to the personalities in the instruction.`;
}

/** The first message of the simulator's (inverted) conversation. */
export const USER_SIM_OPENING = "Hi! How can I help you today?";

/** A chat message sent to the endpoint. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** Options for {@linkcode LlmUserSimulator}. */
export interface LlmUserSimulatorOptions {
  /** Base URL of the OpenAI-compatible API, e.g. `http://localhost:8000/v1`. */
  readonly baseUrl: string;
  /** The model name sent in each request. */
  readonly model: string;
  /**
   * The API key, sent as `Authorization: Bearer <key>` when set.
   * @default {undefined}
   */
  readonly apiKey?: string;
  /**
   * Sampling temperature; the reference sends none (provider default).
   * @default {undefined}
   */
  readonly temperature?: number;
  /**
   * Per-request timeout in milliseconds.
   * @default {120000}
   */
  readonly timeoutMs?: number;
  /**
   * The fetch function (injectable for tests).
   * @default {globalThis.fetch}
   */
  readonly fetch?: typeof fetch;
}

/** An LLM-driven simulated user. */
export class LlmUserSimulator implements UserSimulator {
  #options: Required<Omit<LlmUserSimulatorOptions, "apiKey" | "temperature">> & {
    apiKey?: string;
    temperature?: number;
  };
  #messages: ChatMessage[] = [];

  /** Create a simulator. */
  constructor(options: LlmUserSimulatorOptions) {
    const { baseUrl, model, timeoutMs = 120_000, fetch: fetchFn = globalThis.fetch } = options;
    if (!/^https?:\/\//.test(baseUrl)) {
      throw new RangeError(`Invalid baseUrl "${baseUrl}": expected an http(s) URL`);
    }
    if (typeof model !== "string" || model.length === 0) {
      throw new RangeError(`Invalid model "${model}": expected a non-empty string`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`Invalid timeoutMs ${timeoutMs}: expected a positive number`);
    }
    this.#options = {
      baseUrl: baseUrl.replace(/\/+$/, ""),
      model,
      timeoutMs,
      fetch: fetchFn,
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    };
  }

  /** The simulator's conversation so far (system prompt first, roles inverted). */
  get messages(): readonly ChatMessage[] {
    return this.#messages;
  }

  /** Start a conversation; returns the user's first utterance. */
  reset(instruction: string, signal?: AbortSignal): Promise<string> {
    this.#messages = [
      { role: "system", content: userSystemPrompt(instruction) },
      { role: "user", content: USER_SIM_OPENING },
    ];
    return this.#generate(signal);
  }

  /** Answer the agent's text reply. */
  step(content: string, signal?: AbortSignal): Promise<string> {
    this.#messages.push({ role: "user", content });
    return this.#generate(signal);
  }

  async #generate(signal?: AbortSignal): Promise<string> {
    const { baseUrl, model, apiKey, temperature, timeoutMs, fetch: fetchFn } = this.#options;
    const body: Record<string, unknown> = { messages: this.#messages };
    if (temperature !== undefined) body.temperature = temperature;
    const { choice } = await postChatCompletion({ baseUrl, model, apiKey, timeoutMs }, body, {
      signal,
      fetch: fetchFn,
      label: "user simulator",
    });
    const content: unknown = choice.message.content;
    const reply = typeof content === "string" ? content : "";
    this.#messages.push({ role: "assistant", content: reply });
    return reply;
  }
}
