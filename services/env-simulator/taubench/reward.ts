/**
 * The reference's `Env.calculate_reward` (v1 HEAD): the agent's final database hash must equal
 * the hash of a fresh database after replaying the task's gold actions (terminate tools
 * skipped), and every `task.outputs` string must be a case-insensitive substring of some text
 * reply with commas removed.
 * @module
 */
import { type Domain, pristineTables, type TauTask } from "./data.ts";
import { TauDb } from "./db.ts";
import { dbHash } from "./db_hash.ts";
import { RESPOND_ACTION_NAME, runToolAction, TERMINATE_TOOLS } from "./tools.ts";

/** The reward details (a superset of the reference's `RewardActionInfo`/`RewardOutputInfo`). */
export interface RewardInfo {
  /** Whether the agent's final database equals the gold one (`r_actions`). */
  readonly rActions: boolean;
  /** The hash of the agent's final database. */
  readonly dataHash: string;
  /** The hash of the gold database (`gt_data_hash`). */
  readonly gtDataHash: string;
  /** `r_outputs` (1 or 0), only for tasks with outputs. */
  readonly rOutputs?: number;
  /** Per output string, whether some text reply contains it; only for tasks with outputs. */
  readonly outputs?: Readonly<Record<string, boolean>>;
}

/** The reward of an episode. */
export interface RewardResult {
  /** 1 or 0. */
  readonly reward: number;
  /** How it was decided. */
  readonly info: RewardInfo;
}

/**
 * The database a task's gold actions produce on a fresh database (terminate tools skipped,
 * `respond` actions have no effect on the database).
 */
export function replayGold(domain: Domain, task: TauTask): TauDb {
  const db = new TauDb(pristineTables(domain));
  for (const action of task.actions) {
    if (TERMINATE_TOOLS.includes(action.name) || action.name === RESPOND_ACTION_NAME) continue;
    runToolAction(domain, db, action.name, action.kwargs);
  }
  return db;
}

const GOLD_HASH = new WeakMap<TauTask, string>();

/** `gt_data_hash` of a task (cached per task object; the gold replay is deterministic). */
export function goldHash(domain: Domain, task: TauTask): string {
  let h = GOLD_HASH.get(task);
  if (h === undefined) {
    h = dbHash(replayGold(domain, task));
    GOLD_HASH.set(task, h);
  }
  return h;
}

/**
 * The reward of an episode that ended with database `db` after the agent sent the text
 * replies `respondContents`.
 */
export function calculateReward(
  domain: Domain,
  task: TauTask,
  db: TauDb,
  respondContents: readonly string[],
): RewardResult {
  const dataHash = dbHash(db);
  const gtDataHash = goldHash(domain, task);
  const rActions = dataHash === gtDataHash;
  let reward = rActions ? 1 : 0;
  if (task.outputs.length === 0) return { reward, info: { rActions, dataHash, gtDataHash } };
  const texts = respondContents.map((c) => c.toLowerCase().replaceAll(",", ""));
  const outputs: Record<string, boolean> = {};
  let rOutputs = 1;
  for (const output of task.outputs) {
    const found = texts.some((t) => t.includes(output.toLowerCase()));
    outputs[output] = found;
    if (!found) {
      rOutputs = 0;
      reward = 0;
    }
  }
  return { reward, info: { rActions, dataHash, gtDataHash, rOutputs, outputs } };
}

/** The reward info in the reference's own shape (`{r_actions, gt_data_hash}` or `{r_outputs, outputs}`). */
export function referenceRewardInfo(info: RewardInfo): Record<string, unknown> {
  if (info.rOutputs === undefined) {
    return { r_actions: info.rActions, gt_data_hash: info.gtDataHash };
  }
  return { r_outputs: info.rOutputs, outputs: info.outputs };
}
