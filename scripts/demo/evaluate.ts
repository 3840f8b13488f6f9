/**
 * Held-out evaluation of whatever policy-inference serves: every task runs once as an episode
 * (greedy decoding, the arm's context mode, the actor's own episode loop) against the
 * env-simulator, and each is scored by the benchmark checker. Returns one record per task so two
 * models can be compared pair by pair.
 */
import type { ContextMode, Task, Trajectory } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { ToolDocStyle } from "@parlmt/tokenizer";
import { type EpisodeDeps, runEpisode } from "../../services/rollout-actor/episode.ts";
import { computeReward, type RewardWeights } from "../../services/learner/rewards.ts";
import { canonicalCall } from "../../services/learner/reward_config.ts";
import { mean } from "./stats.ts";

/** The score of one task. */
export interface TaskScore {
  readonly taskId: string;
  /** 1 when the checker passed the whole task. */
  readonly success: number;
  /** Turns whose state and response checks passed, over the task's turns. */
  readonly turnAccuracy: number;
  /** The composite RL reward of the episode, as the learner would score it. */
  readonly reward: number;
  /** Calls executed. */
  readonly calls: number;
  /** Mean prompt tokens of the policy's generations. */
  readonly promptTokens: number;
  /** Generations with a format error. */
  readonly formatErrors: number;
  readonly contextOverflow: boolean;
}

/** The means of a set of scores. */
export interface EvalSummary {
  readonly tasks: number;
  readonly success: number;
  readonly turnAccuracy: number;
  readonly reward: number;
  readonly callsPerTask: number;
  readonly promptTokensPerTurn: number;
  readonly formatErrors: number;
  readonly contextOverflows: number;
}

/** Scores one trajectory; `weights` weigh the composite reward's terms. */
export function scoreTrajectory(task: Task, t: Trajectory, weights: RewardWeights): TaskScore {
  const checks = t.check?.turns ?? [];
  const passed = checks.filter((c) => c.stateOk && c.responseOk).length;
  const steps = t.turns.flatMap((turn) => turn.steps);
  const prompts = steps.map((s) => s.generation?.promptTokenIds.length ?? 0);
  return {
    taskId: task.id,
    success: t.check?.success ? 1 : 0,
    turnAccuracy: task.turns.length === 0 ? 0 : passed / task.turns.length,
    reward: computeReward(t, task.turns.map((x) => x.groundTruthCalls), canonicalCall, weights)
      .total,
    calls: steps.reduce((n, s) => n + s.calls.length, 0),
    promptTokens: mean(prompts),
    formatErrors: steps.filter((s) => s.formatError).length,
    contextOverflow: t.contextOverflow,
  };
}

/** The means of `scores`. */
export function summarize(scores: readonly TaskScore[]): EvalSummary {
  return {
    tasks: scores.length,
    success: mean(scores.map((s) => s.success)),
    turnAccuracy: mean(scores.map((s) => s.turnAccuracy)),
    reward: mean(scores.map((s) => s.reward)),
    callsPerTask: mean(scores.map((s) => s.calls)),
    promptTokensPerTurn: mean(scores.map((s) => s.promptTokens)),
    formatErrors: mean(scores.map((s) => s.formatErrors)),
    contextOverflows: scores.filter((s) => s.contextOverflow).length,
  };
}

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  readonly contextMode: ContextMode;
  /** Every step must open with a progress block (a step without one is a format error). */
  readonly progressBlocks: boolean;
  readonly toolDocs: ToolDocStyle;
  /** Weights of the composite reward reported per task (the arm's). */
  readonly rewardWeights: RewardWeights;
  readonly maxTokens: number;
  /** Episodes in flight. */
  readonly concurrency: number;
  /** Called after each finished task. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called with each task's episode (e.g. to keep a transcript of the evaluation). */
  readonly onEpisode?: (task: Task, trajectory: Trajectory, score: TaskScore) => void;
}

/**
 * One evaluated episode as a JSON line: the score, and per turn the ground-truth calls and
 * what the model wrote at each step (with the calls that ran and whether each failed).
 */
export function episodeRecord(task: Task, t: Trajectory, score: TaskScore): string {
  return JSON.stringify({
    ...score,
    error: t.check?.errorType ?? "",
    turns: task.turns.map((turn, i) => ({
      user: turn.userMessages.map((m) => m.content),
      truth: turn.groundTruthCalls,
      steps: (t.turns[i]?.steps ?? []).map((s) => ({
        text: s.generation?.text ?? "",
        ...(s.formatError ? { formatError: true } : {}),
        failed: s.results.map((r) => r.isError),
      })),
    })),
  });
}

/** Runs every task once, greedily; scores in the order of `tasks`. */
export async function evaluate(
  deps: EpisodeDeps,
  tasks: readonly Task[],
  options: EvaluateOptions,
): Promise<TaskScore[]> {
  const scores = new Array<TaskScore>(tasks.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i]!;
      const trajectory = await runEpisode(deps, task, {
        contextMode: options.contextMode,
        progressBlocks: options.progressBlocks,
        toolDocs: options.toolDocs,
        sampling: { temperature: 0, maxTokens: options.maxTokens },
      });
      scores[i] = scoreTrajectory(task, trajectory, options.rewardWeights);
      options.onEpisode?.(task, trajectory, scores[i]!);
      options.onProgress?.(++done, tasks.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, tasks.length) }, worker));
  return scores;
}
