/**
 * One episode of a BFCL task: the model-side instances, the turn counter, miss_func tool
 * visibility, the step limit, and the recorded trajectory the checker evaluates.
 * @module
 */
import type { PyDict } from "@parlmt/pycompat";
import { checkMultiTurn, type CheckResult } from "./checker.ts";
import { parseCalls, type ParsedCallExpr } from "./call_parser.ts";
import { Executor } from "./executor.ts";
import { type BfclTask, type FunctionDoc, listedFunctionDocs } from "./tasks.ts";
import { renderCall } from "./render_call.ts";

/** BFCL's `MAXIMUM_STEP_LIMIT`: a turn force-quits once more steps than this were executed. */
export const MAXIMUM_STEP_LIMIT = 20;

/** The user message BFCL sends at a miss_func holdout turn (FC models). */
export const HOLDOUT_MESSAGE =
  "I have updated some more functions you can choose from. What about now?";

/** Raised when an episode can no longer execute steps (finished or force-terminated). */
export class EpisodeDoneError extends Error {
  /** Create the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EpisodeDoneError";
  }
}

/** One executed step: the calls as executed and their observations. */
export interface StepRecord {
  /** Call strings (BFCL syntax). */
  readonly calls: readonly string[];
  /** One observation per call. */
  readonly results: readonly string[];
}

/** The environment side of one task. */
export class Episode {
  readonly #task: BfclTask;
  #executor: Executor;
  #turn = 0;
  #stepsThisTurn = 0;
  #forceTerminated = false;
  #turns: StepRecord[][] = [[]];

  /** Create the instances for `task` (initial config and long_context applied). */
  constructor(task: BfclTask, executor?: Executor) {
    this.#task = task;
    this.#executor = executor ??
      new Executor(task.involvedClasses, task.initialConfig, task.longContext);
  }

  /** The task. */
  get task(): BfclTask {
    return this.#task;
  }

  /** The current turn index. */
  get turn(): number {
    return this.#turn;
  }

  /** Whether every turn was played or the step limit force-terminated the episode. */
  get done(): boolean {
    return this.#forceTerminated || this.#turn >= this.#task.question.length;
  }

  /** Whether the step limit ended the episode. */
  get forceTerminated(): boolean {
    return this.#forceTerminated;
  }

  /** Function docs visible at `turn` (miss_func holds functions back until their turn). */
  tools(turn = this.#turn): FunctionDoc[] {
    const t = this.#task;
    return listedFunctionDocs(t.involvedClasses, t.missedFunction, turn, t.offeredFunctions);
  }

  /** The user messages of the current turn (the holdout message at a miss_func turn). */
  userMessages(turn = this.#turn): { role: string; content: string }[] {
    const q = this.#task.question[turn] ?? [];
    if (q.length === 0 && this.#task.missedFunction.has(turn)) {
      return [{ role: "user", content: HOLDOUT_MESSAGE }];
    }
    return q.map((m) => ({ role: m.role, content: m.content }));
  }

  /**
   * Execute one step: BFCL-syntax text (`[f(a=1), g()]`; throws `SyntaxError` when it cannot
   * be parsed, which BFCL treats as the end of the turn) or parsed calls.
   */
  step(calls: string | readonly ParsedCallExpr[]): StepRecord {
    if (this.done) {
      throw new EpisodeDoneError(
        `Cannot step episode of task "${this.#task.id}": episode is already done`,
      );
    }
    const parsed = typeof calls === "string" ? parseCalls(calls) : calls;
    const texts = parsed.map((c) => renderCall(c));
    const results = parsed.map((c) => this.#executor.executeParsed(c));
    const record = { calls: texts, results };
    if (parsed.length > 0) {
      this.#turns[this.#turn]!.push(record);
      this.#stepsThisTurn++;
      if (this.#stepsThisTurn > MAXIMUM_STEP_LIMIT) this.#forceTerminated = true;
    }
    return record;
  }

  /** End the current turn and move to the next one. */
  advanceTurn(): void {
    if (this.done) {
      throw new EpisodeDoneError(
        `Cannot advance episode of task "${this.#task.id}": episode is already done`,
      );
    }
    this.#turn++;
    this.#stepsThisTurn = 0;
    if (!this.done) this.#turns.push([]);
  }

  /** The recorded steps per turn. */
  trajectory(): readonly (readonly StepRecord[])[] {
    return this.#turns;
  }

  /** Public state per class (Python values). */
  state(): Map<string, PyDict> {
    return this.#executor.state();
  }

  /** Public state per class as `json.dumps` text in the oracle encoding. */
  stateJson(): string {
    return this.#executor.stateJson();
  }

  /**
   * Run the BFCL checker on the recorded turns (unplayed turns count as missing, so an
   * unfinished or force-terminated episode fails with `multi_turn:force_terminated`).
   */
  evaluate(): CheckResult {
    const played = this.#forceTerminated ? this.#turns.slice(0, this.#turn) : this.#turns;
    return checkMultiTurn(this.#task, played.map((steps) => steps.map((s) => s.calls)));
  }

  /** An independent deep copy (state, generators, trajectory). */
  fork(): Episode {
    const copy = new Episode(this.#task, this.#executor.clone());
    copy.#turn = this.#turn;
    copy.#stepsThisTurn = this.#stepsThisTurn;
    copy.#forceTerminated = this.#forceTerminated;
    copy.#turns = this.#turns.map((t) => [...t]);
    return copy;
  }
}
