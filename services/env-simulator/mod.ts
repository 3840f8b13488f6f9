/**
 * The env-simulator domain API (no wire types): BFCL multi-turn tasks, episodes, the
 * call parser, the executor, the checker and scoring, and the session store.
 * @module
 */
export {
  BFCL_CATEGORIES,
  type BfclCategory,
  type BfclTask,
  type FunctionDoc,
  functionDocs,
  getTask,
  listedFunctionDocs,
  listTasks,
} from "./tasks.ts";
export { createEpisode, type InlineTask } from "./create_episode.ts";
export {
  Episode,
  EpisodeDoneError,
  HOLDOUT_MESSAGE,
  MAXIMUM_STEP_LIMIT,
  type StepRecord,
} from "./episode.ts";
export { type CallExpr, parseCall, parseCalls, type ParsedCallExpr } from "./call_parser.ts";
export { callSourceFromJson, renderCall } from "./render_call.ts";
export { EXECUTION_ERROR_PREFIX, Executor } from "./executor.ts";
export {
  type BfclScore,
  type CheckErrorType,
  checkMultiTurn,
  type CheckResult,
  type ModelTurns,
  scoreBfcl,
  type TurnDiagnostic,
} from "./checker.ts";
export { EpisodeNotFoundError, SessionStore, type SessionStoreOptions } from "./sessions.ts";
export { BFCL_CLASS_NAMES } from "./envs/registry.ts";
