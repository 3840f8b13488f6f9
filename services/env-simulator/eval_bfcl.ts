/**
 * `deno task eval:bfcl --policy URL`: scores any OpenAI-compatible chat model on the four BFCL
 * multi-turn categories. Each turn the model gets the conversation and the tools visible at that
 * turn (miss_func aware); its tool calls (or a `[f(x=1)]` call list in its text) are executed,
 * the results fed back, until it answers without calls or hits BFCL's step limit. The checker
 * decides each task; the table shows accuracy per category and the unweighted mean.
 * @module
 */
import { parseArgs } from "node:util";
import { type ChatEndpoint as OpenAiEndpoint, postChatCompletion } from "@parlmt/openai";
import { parseAssistantText } from "@parlmt/tokenizer";
import { BFCL_CATEGORIES, type Episode, listTasks, MAXIMUM_STEP_LIMIT, scoreBfcl } from "./mod.ts";
import { createEpisode } from "./create_episode.ts";
import { callFromJson } from "./server.ts";

/** An OpenAI-compatible chat endpoint with the sampling settings of the evaluation. */
export interface ChatEndpoint extends OpenAiEndpoint {
  /** Sent as `max_tokens` when set. */
  maxTokens?: number;
}

interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

async function complete(endpoint: ChatEndpoint, messages: ChatMessage[], tools: unknown[]) {
  const { choice } = await postChatCompletion(endpoint, {
    messages,
    tools,
    temperature: 0,
    ...(endpoint.maxTokens !== undefined ? { max_tokens: endpoint.maxTokens } : {}),
  }, { label: "policy endpoint" });
  return choice.message as ChatMessage;
}

function openAiTools(episode: Episode): unknown[] {
  return episode.tools().map((t) => ({
    type: "function",
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

/** Plays one task with the model; returns whether the checker passes it. */
export async function runBfclTask(episode: Episode, policy: ChatEndpoint): Promise<boolean> {
  const messages: ChatMessage[] = [];
  while (!episode.done) {
    for (const m of episode.userMessages()) messages.push({ role: "user", content: m.content });
    // One step more than the limit lets the episode force-terminate itself, as BFCL does.
    for (let step = 0; step <= MAXIMUM_STEP_LIMIT && !episode.done; step++) {
      const answer = await complete(policy, messages, openAiTools(episode));
      const text = answer.content ?? "";
      if (answer.tool_calls && answer.tool_calls.length > 0) {
        messages.push({ role: "assistant", content: text || null, tool_calls: answer.tool_calls });
        // All calls of one answer are one BFCL step; arguments that do not decode are errors.
        const outputs = new Map<number, string>();
        const parsed: { index: number; call: ReturnType<typeof callFromJson> }[] = [];
        answer.tool_calls.forEach((c, index) => {
          try {
            parsed.push({ index, call: callFromJson(c.function.name, c.function.arguments) });
          } catch (err) {
            outputs.set(index, `Error during execution: ${(err as Error).message}`);
          }
        });
        const results = parsed.length > 0 ? episode.step(parsed.map((p) => p.call)).results : [];
        parsed.forEach((p, i) => outputs.set(p.index, results[i]!));
        answer.tool_calls.forEach((c, index) =>
          messages.push({ role: "tool", tool_call_id: c.id, content: outputs.get(index)! })
        );
        continue;
      }
      messages.push({ role: "assistant", content: text });
      const calls = parseAssistantText(text).calls;
      if (!calls || calls.length === 0) break; // a text answer ends the turn
      let results: readonly string[];
      try {
        results = episode.step(`[${calls.join(", ")}]`).results;
      } catch {
        break; // calls that do not parse end the turn, as in BFCL
      }
      messages.push({ role: "user", content: results.join("\n") });
    }
    if (!episode.done) episode.advanceTurn();
  }
  return episode.evaluate().valid;
}

const USAGE = `Usage: deno task eval:bfcl --policy URL [--model M] [--api-key K]
  [--categories multi_turn_base,...] [--tasks N per category] [--max-tokens N]`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      policy: { type: "string" },
      model: { type: "string", default: "" },
      "api-key": { type: "string" },
      categories: { type: "string", default: BFCL_CATEGORIES.join(",") },
      tasks: { type: "string", default: "200" },
      "max-tokens": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.policy) throw new RangeError(`--policy is required\n${USAGE}`);
  const categories = values.categories!.split(",").map((c) => c.trim());
  for (const c of categories) {
    if (!(BFCL_CATEGORIES as readonly string[]).includes(c)) {
      throw new RangeError(
        `Invalid category "${c}" in --categories: expected ${BFCL_CATEGORIES.join(", ")}`,
      );
    }
  }
  const perCategory = Number(values.tasks);
  if (!Number.isInteger(perCategory) || perCategory < 1 || perCategory > 200) {
    throw new RangeError(`Invalid value "${values.tasks}" for --tasks: expected 1..200`);
  }
  const maxTokens = values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new RangeError(`Invalid value "${values["max-tokens"]}" for --max-tokens`);
  }
  const policy = {
    baseUrl: values.policy,
    model: values.model!,
    apiKey: values["api-key"],
    maxTokens,
  };
  const results: { category: string; valid: boolean }[] = [];
  for (const category of categories) {
    for (const task of listTasks(category).slice(0, perCategory)) {
      const valid = await runBfclTask(createEpisode(task.id), policy);
      results.push({ category, valid });
      console.error(`${task.id}: ${valid ? "pass" : "fail"}`);
    }
  }
  const score = scoreBfcl(results);
  console.log("| category | correct | total | accuracy |\n|---|---|---|---|");
  for (const [c, s] of Object.entries(score.categories)) {
    console.log(`| ${c} | ${s.correct} | ${s.total} | ${(s.accuracy * 100).toFixed(2)}% |`);
  }
  console.log(`overall (unweighted mean of categories): ${(score.overall * 100).toFixed(2)}%`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`eval:bfcl: ${(err as Error).message}`);
    Deno.exit(2);
  }
}
