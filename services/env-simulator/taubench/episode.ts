/**
 * One τ-bench episode, as the reference's `Env` + `ToolCallingAgent.solve` run it: the user
 * simulator speaks first; each agent step is one action (a text reply, or one tool call); the
 * episode ends when the user says `###STOP###`, when the agent calls a terminate tool
 * (`transfer_to_human_agents`), or after `maxSteps` actions (reward 0). The reward is computed
 * when the episode ends. Plain TypeScript, no wire types.
 * @module
 */
import { parsePyJson, PyDict, pyTypeName } from "@parlmt/pycompat";
import { EpisodeDoneError } from "../episode.ts";
import {
  checkSplit,
  type Domain,
  loadTasks,
  loadToolsInfo,
  loadWiki,
  pristineTables,
  type Split,
  type TauTask,
} from "./data.ts";
import { TauDb } from "./db.ts";
import { parseInlineTask } from "./inline_task.ts";
import { calculateReward, type RewardResult } from "./reward.ts";
import { RESPOND_ACTION_NAME, runToolAction } from "./tools.ts";
import type { UserSimulator } from "./user.ts";

/** The reference agent's step cap (`max_num_steps`). */
export const DEFAULT_MAX_STEPS = 30;
/** The substring of a user reply that ends the episode. */
export const STOP_TOKEN = "###STOP###";

/** Which task an episode runs: a vendored task by index, or an inline task. */
export type TaskRef =
  | { readonly domain: Domain; readonly split?: Split; readonly taskIndex: number }
  | { readonly domain: Domain; readonly task: unknown };

/** One agent action. */
export type AgentAction =
  | {
    readonly kind: "tool_call";
    /** The tool name. */
    readonly name: string;
    /** The arguments: JSON text as the model wrote it (parsed with Python's types), or a dict. */
    readonly arguments: string | PyDict;
  }
  | { readonly kind: "respond"; readonly content: string };

/** Why an episode ended. */
export type EndReason = "user_stop" | "transfer" | "max_steps" | "crash";

/** Options for {@linkcode TauEpisode.create}. */
export interface EpisodeOptions {
  /** The user simulator (an LLM through an OpenAI-compatible endpoint, or a scripted user). */
  readonly user: UserSimulator;
  /**
   * Agent actions before the episode ends unscored (reward 0).
   * @default {30}
   */
  readonly maxSteps?: number;
  /**
   * What a malformed tool call (arguments not JSON, or not a JSON object) does. The reference
   * agent crashes there (reward 0): `"end"` reproduces that; `"observation"` answers with an
   * `Error: ...` observation and lets the episode go on.
   * @default {"observation"}
   */
  readonly malformedArguments?: "observation" | "end";
  /** Aborts calls to the user simulator. */
  readonly signal?: AbortSignal;
}

/** The result of one step. */
export interface StepResult {
  /** The observation: the user's reply, or the tool output. */
  readonly observation: string;
  /** `"user"` for a text reply, else the tool name (`info.source` in the reference). */
  readonly source: string;
  /** Whether the episode has ended. */
  readonly done: boolean;
  /** The reward (0 until the episode ends). */
  readonly reward: number;
}

/** One recorded step of the transcript. */
export interface EpisodeEvent {
  /** The action, with the arguments as parsed (or the raw text when they did not parse). */
  readonly action: AgentAction;
  /** The observation. */
  readonly observation: string;
  /** `"user"` or the tool name. */
  readonly source: string;
}

/** A running τ-bench episode. */
export class TauEpisode {
  readonly domain: Domain;
  readonly task: TauTask;
  /** The task index for vendored tasks. */
  readonly taskIndex: number | undefined;
  /** The policy text (the agent's system prompt). */
  readonly wiki: string;
  /** The OpenAI `tools` list the agent sees. */
  readonly toolsInfo: readonly unknown[];
  /** The user's first utterance (the agent's first `user` message). */
  readonly firstObservation: string;
  #db: TauDb;
  #user: UserSimulator;
  #options: Required<Omit<EpisodeOptions, "signal" | "user">> & { signal?: AbortSignal };
  #events: EpisodeEvent[] = [];
  #respondContents: string[] = [];
  #numSteps = 0;
  #done = false;
  #endReason: EndReason | undefined;
  #reward: RewardResult | undefined;

  private constructor(
    domain: Domain,
    task: TauTask,
    taskIndex: number | undefined,
    first: string,
    options: EpisodeOptions,
  ) {
    this.domain = domain;
    this.task = task;
    this.taskIndex = taskIndex;
    this.wiki = loadWiki(domain);
    this.toolsInfo = loadToolsInfo(domain);
    this.firstObservation = first;
    this.#db = new TauDb(pristineTables(domain));
    this.#user = options.user;
    this.#options = {
      maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
      malformedArguments: options.malformedArguments ?? "observation",
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  /** Start an episode: load the task, reset the database and ask the user for its first line. */
  static async create(ref: TaskRef, options: EpisodeOptions): Promise<TauEpisode> {
    const { domain } = ref;
    checkSplit(domain, "split" in ref && ref.split ? ref.split : "test");
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > 1000) {
      throw new RangeError(`Invalid maxSteps ${maxSteps}: expected an integer in 1..1000`);
    }
    let task: TauTask;
    let taskIndex: number | undefined;
    if ("task" in ref) task = parseInlineTask(ref.task);
    else {
      const tasks = loadTasks(domain, ref.split ?? "test");
      if (!Number.isInteger(ref.taskIndex) || ref.taskIndex < 0 || ref.taskIndex >= tasks.length) {
        throw new RangeError(
          `Invalid taskIndex ${ref.taskIndex}: ${domain}/${ref.split ?? "test"} has tasks 0..${
            tasks.length - 1
          }`,
        );
      }
      taskIndex = ref.taskIndex;
      task = tasks[taskIndex]!;
    }
    const first = await options.user.reset(task.instruction, options.signal);
    return new TauEpisode(domain, task, taskIndex, first, options);
  }

  /** Whether the episode has ended. */
  get done(): boolean {
    return this.#done;
  }
  /** Why it ended (`undefined` while running). */
  get endReason(): EndReason | undefined {
    return this.#endReason;
  }
  /** The reward: 0 until done, and 0 for an episode that hit the step cap or crashed. */
  get reward(): number {
    return this.#reward?.reward ?? 0;
  }
  /** The reward details, present when the episode ended by STOP or transfer. */
  get rewardResult(): RewardResult | undefined {
    return this.#reward;
  }
  /** Agent actions taken so far. */
  get numSteps(): number {
    return this.#numSteps;
  }
  /** The transcript of steps. */
  get events(): readonly EpisodeEvent[] {
    return this.#events;
  }
  /** The current database (read-only view; for diagnostics and state checks). */
  get db(): TauDb {
    return this.#db;
  }

  /** Take one agent action. Throws {@linkcode EpisodeDoneError} after the episode ended. */
  async step(action: AgentAction): Promise<StepResult> {
    if (this.#done) {
      throw new EpisodeDoneError(
        `Cannot step τ-bench episode (${this.domain}): episode is already done (${this.#endReason})`,
      );
    }
    this.#numSteps++;
    let observation: string;
    let source: string;
    if (action.kind === "respond") {
      ({ observation, source } = await this.#respond(String(action.content)));
    } else {
      const parsed = parseArguments(action.arguments);
      if (typeof parsed === "string") {
        this.#events.push({ action, observation: parsed, source: action.name });
        if (this.#options.malformedArguments === "end") this.#end("crash");
        else this.#checkCap();
        return this.#result(parsed, action.name);
      }
      const kwargs = parsed;
      if (action.name === RESPOND_ACTION_NAME) {
        // A tool call named `respond` is a text reply in the reference (`kwargs["content"]`).
        const content = kwargs.get("content");
        if (typeof content !== "string") {
          observation = content === undefined ? "Error: 'content'" : "Error: content must be a str";
          source = action.name;
        } else ({ observation, source } = await this.#respond(content));
      } else {
        const outcome = runToolAction(this.domain, this.#db, action.name, kwargs);
        source = action.name;
        if (outcome.observation === null) {
          // The reference's EnvResponse rejects None and the run crashes (reward 0).
          observation = "None";
          this.#events.push({ action: { ...action, arguments: kwargs }, observation, source });
          this.#end("crash");
          return this.#result(observation, source);
        }
        observation = outcome.observation;
        if (outcome.terminal) {
          this.#events.push({ action: { ...action, arguments: kwargs }, observation, source });
          this.#end("transfer");
          return this.#result(observation, source);
        }
      }
      action = { ...action, arguments: kwargs };
    }
    this.#events.push({ action, observation, source });
    if (!this.#done) this.#checkCap();
    return this.#result(observation, source);
  }

  async #respond(content: string): Promise<{ observation: string; source: string }> {
    this.#respondContents.push(content);
    const observation = await this.#user.step(content, this.#options.signal);
    if (observation.includes(STOP_TOKEN)) this.#end("user_stop");
    return { observation, source: "user" };
  }

  #checkCap(): void {
    if (!this.#done && this.#numSteps >= this.#options.maxSteps) {
      this.#done = true;
      this.#endReason = "max_steps";
    }
  }

  #end(reason: EndReason): void {
    this.#done = true;
    this.#endReason = reason;
    if (reason === "user_stop" || reason === "transfer") {
      this.#reward = calculateReward(this.domain, this.task, this.#db, this.#respondContents);
    }
  }

  #result(observation: string, source: string): StepResult {
    return { observation, source, done: this.#done, reward: this.reward };
  }
}

/** Parse tool-call arguments with Python's types; returns an error observation on failure. */
function parseArguments(args: string | PyDict): PyDict | string {
  if (args instanceof PyDict) return args;
  let value;
  try {
    value = parsePyJson(String(args));
  } catch (err) {
    return `Error: tool arguments are not valid JSON (${(err as Error).message})`;
  }
  if (!(value instanceof PyDict)) {
    return `Error: tool arguments must be a JSON object, not ${pyTypeName(value)}`;
  }
  return value;
}
