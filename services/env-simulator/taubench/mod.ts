/**
 * τ-bench v1 (retail and airline) at reference parity: data, tools, database hash, reward,
 * episodes with an LLM or scripted user, pass^k. Plain TypeScript; the gRPC server wraps it.
 *
 * @example Run a vendored task with a scripted user
 * ```ts
 * import { ScriptedUser, TauEpisode } from "./mod.ts";
 * const ep = await TauEpisode.create(
 *   { domain: "airline", taskIndex: 0 },
 *   { user: new ScriptedUser({ stopAfter: 1 }) },
 * );
 * await ep.step({ kind: "tool_call", name: "get_user_details", arguments: '{"user_id": "mia_li_3668"}' });
 * const r = await ep.step({ kind: "respond", content: "Done." });
 * console.log(r.done, ep.reward);
 * ```
 * @module
 */
export {
  checkSplit,
  type Domain,
  DOMAINS,
  loadTasks,
  loadToolsInfo,
  loadWiki,
  type Split,
  SPLITS,
  type TauAction,
  type TauTask,
} from "./data.ts";
export { TauDb } from "./db.ts";
export { dbHash, hashableRepr, hashValue } from "./db_hash.ts";
export { INLINE_TASK_LIMITS, parseInlineTask, toPyValue } from "./inline_task.ts";
export { calculate } from "./calculate.ts";
export { domainTools, RESPOND_ACTION_NAME, runToolAction, TERMINATE_TOOLS } from "./tools.ts";
export type { ToolDef } from "./tool.ts";
export {
  calculateReward,
  goldHash,
  referenceRewardInfo,
  replayGold,
  type RewardInfo,
  type RewardResult,
} from "./reward.ts";
export {
  type AgentAction,
  DEFAULT_MAX_STEPS,
  type EndReason,
  type EpisodeEvent,
  type EpisodeOptions,
  type StepResult,
  STOP_TOKEN,
  type TaskRef,
  TauEpisode,
} from "./episode.ts";
export type { UserSimulator } from "./user.ts";
export {
  type ChatMessage,
  LlmUserSimulator,
  type LlmUserSimulatorOptions,
  USER_SIM_OPENING,
  userSystemPrompt,
} from "./user_sim.ts";
export { ScriptedUser, type ScriptedUserOptions } from "./scripted_user.ts";
export { comb, passHatK, type PassHatKResult, type TrialResult } from "./pass_k.ts";
