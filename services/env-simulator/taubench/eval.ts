/**
 * `deno task eval:taubench --policy URL --user URL --domain D --trials K`: evaluates any
 * OpenAI-compatible chat model as the τ-bench agent (the reference's tool-calling agent: the
 * domain policy as system prompt, the first tool call of each answer executed, text answers sent
 * to the simulated user) and prints pass^1..pass^K as the benchmark defines it.
 * @module
 */
import { parseArgs } from "node:util";
import { type ChatEndpoint as OpenAiEndpoint, postChatCompletion } from "@parlmt/openai";
import { type Domain, DOMAINS, loadTasks, type Split } from "./data.ts";
import { TauEpisode } from "./episode.ts";
import { passHatK, type TrialResult } from "./pass_k.ts";
import { LlmUserSimulator } from "./user_sim.ts";

/** An OpenAI-compatible chat endpoint with the sampling settings of the evaluation. */
export interface ChatEndpoint extends OpenAiEndpoint {
  temperature?: number;
  /** Sent as `max_tokens` when set. */
  maxTokens?: number;
}

interface AgentMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
}

async function complete(
  endpoint: ChatEndpoint,
  messages: AgentMessage[],
  tools: readonly unknown[],
) {
  const { choice } = await postChatCompletion(endpoint, {
    messages,
    tools,
    ...(endpoint.temperature !== undefined ? { temperature: endpoint.temperature } : {}),
    ...(endpoint.maxTokens !== undefined ? { max_tokens: endpoint.maxTokens } : {}),
  }, { label: "policy endpoint" });
  return choice.message as AgentMessage;
}

/** Runs one trial of a task with the agent at `policy`; returns the reward. */
export async function runTrial(episode: TauEpisode, policy: ChatEndpoint): Promise<number> {
  const messages: AgentMessage[] = [
    { role: "system", content: episode.wiki },
    { role: "user", content: episode.firstObservation },
  ];
  while (!episode.done) {
    const answer = await complete(policy, messages, episode.toolsInfo);
    const call = answer.tool_calls?.[0];
    if (call) {
      messages.push({ role: "assistant", content: answer.content ?? null, tool_calls: [call] });
      const r = await episode.step({
        kind: "tool_call",
        name: call.function.name,
        arguments: call.function.arguments,
      });
      messages.push({
        role: "tool",
        tool_call_id: call.id,
        name: call.function.name,
        content: r.observation,
      });
    } else {
      const content = answer.content ?? "";
      messages.push({ role: "assistant", content });
      const r = await episode.step({ kind: "respond", content });
      if (!r.done) messages.push({ role: "user", content: r.observation });
    }
  }
  return episode.reward;
}

/** Options of {@linkcode evaluate}. */
export interface EvalOptions {
  domain: Domain;
  split: Split;
  trials: number;
  /** Task indices (default: all of the split). */
  tasks?: readonly number[];
  policy: ChatEndpoint;
  user: ChatEndpoint;
  /** Agent steps before an episode ends unscored. @default {30} (the reference) */
  maxSteps?: number;
  /** Called after each trial. */
  onTrial?: (r: TrialResult) => void;
}

/** Runs every task `trials` times; returns the trial results and pass^k. */
export async function evaluate(options: EvalOptions) {
  const all = loadTasks(options.domain, options.split);
  const indices = options.tasks ?? all.map((_, i) => i);
  const results: TrialResult[] = [];
  for (let trial = 0; trial < options.trials; trial++) {
    for (const taskIndex of indices) {
      const user = new LlmUserSimulator({ ...options.user });
      const episode = await TauEpisode.create({
        domain: options.domain,
        split: options.split,
        taskIndex,
      }, { user, maxSteps: options.maxSteps });
      const reward = await runTrial(episode, options.policy);
      const r = { taskId: taskIndex, trial, reward };
      results.push(r);
      options.onTrial?.(r);
    }
  }
  return { results, metrics: passHatK(results) };
}

const USAGE =
  `Usage: deno task eval:taubench --policy URL --user URL --domain retail|airline --trials K
  [--split test] [--tasks 0,1,2] [--policy-model M] [--user-model M] [--policy-key K] [--user-key K]`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      policy: { type: "string" },
      user: { type: "string" },
      domain: { type: "string", default: "retail" },
      split: { type: "string", default: "test" },
      trials: { type: "string", default: "1" },
      tasks: { type: "string" },
      "policy-model": { type: "string", default: "" },
      "user-model": { type: "string", default: "gpt-4o" },
      "policy-key": { type: "string" },
      "user-key": { type: "string" },
      "max-steps": { type: "string", default: "30" },
      "max-tokens": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.policy || !values.user) {
    throw new RangeError(`--policy and --user are required\n${USAGE}`);
  }
  if (!(DOMAINS as readonly string[]).includes(values.domain!)) {
    throw new RangeError(
      `Invalid value "${values.domain}" for --domain: expected retail or airline`,
    );
  }
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 100) {
    throw new RangeError(`Invalid value "${values.trials}" for --trials: expected 1..100`);
  }
  const tasks = values.tasks?.split(",").map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Invalid task index "${t}" in --tasks`);
    return n;
  });
  const maxSteps = Number(values["max-steps"]);
  if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > 1000) {
    throw new RangeError(
      `Invalid value "${values["max-steps"]}" for --max-steps: expected 1..1000`,
    );
  }
  const maxTokens = values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new RangeError(`Invalid value "${values["max-tokens"]}" for --max-tokens`);
  }
  const { metrics, results } = await evaluate({
    maxSteps,
    domain: values.domain as Domain,
    split: values.split as Split,
    trials,
    tasks,
    policy: {
      baseUrl: values.policy,
      model: values["policy-model"]!,
      apiKey: values["policy-key"],
      maxTokens,
    },
    user: { baseUrl: values.user, model: values["user-model"]!, apiKey: values["user-key"] },
    onTrial: (r) => console.error(`trial ${r.trial} task ${r.taskId}: reward ${r.reward}`),
  });
  console.log(
    `${values.domain} ${values.split}: ${results.length} episodes, average reward ${
      metrics.averageReward.toFixed(4)
    }`,
  );
  metrics.passHatK.forEach((p, i) => console.log(`pass^${i + 1}: ${(p * 100).toFixed(2)}%`));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`eval:taubench: ${(err as Error).message}`);
    Deno.exit(2);
  }
}
