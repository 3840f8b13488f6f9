/**
 * Replay the gold actions of every τ-bench v1 task, compare every output string and database
 * hash with an oracle file (the reference's own replay), check that the gold trajectory earns
 * reward 1.0, and recompute the rewards of the 200 recorded gpt-4o airline runs.
 *
 * Usage: `deno run -A replay.ts [--oracle FILE.jsonl.gz] [--domain D] [--split S] [--verbose]`.
 * The last line printed is
 * `parity: P/N tasks, reward 1.0: R/N tasks, historical rewards: H/200 match`
 * (N counts the oracle's tasks; without `--oracle` the parity part is omitted and N counts
 * every replayed task).
 * @module
 */
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { parsePyJson, type PyDict } from "@parlmt/pycompat";
import {
  type Domain,
  DOMAINS,
  loadTasks,
  pristineTables,
  readTaubenchDataFile,
  type Split,
  SPLITS,
  type TauTask,
} from "./data.ts";
import { TauDb } from "./db.ts";
import { dbHash } from "./db_hash.ts";
import { type AgentAction, TauEpisode } from "./episode.ts";
import { calculateReward } from "./reward.ts";
import { runToolAction } from "./tools.ts";
import type { UserSimulator } from "./user.ts";

/** One gold-replay record of the oracle file (the fields this replay compares). */
export interface GoldOracleRecord {
  readonly domain: Domain;
  readonly split: Split;
  readonly taskIndex: number;
  readonly initialHash: string;
  readonly actions: readonly {
    readonly name: string;
    readonly output: string;
    readonly hashAfter: string;
  }[];
  readonly finalHash: string;
  readonly gtDataHash: string;
  readonly reward: number;
}

/** The key of a task in maps: `domain/split/index`. */
export function taskKey(domain: string, split: string, index: number): string {
  return `${domain}/${split}/${index}`;
}

/** Read the `gold_replay` records of an oracle `.jsonl.gz` (or `.jsonl`) file. */
export function readGoldOracle(path: string): Map<string, GoldOracleRecord> {
  const bytes = Deno.readFileSync(path);
  const text = new TextDecoder().decode(path.endsWith(".gz") ? gunzipSync(bytes) : bytes);
  const out = new Map<string, GoldOracleRecord>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.kind !== "gold_replay") continue;
    out.set(taskKey(r.domain, r.split, r.task_index), {
      domain: r.domain,
      split: r.split,
      taskIndex: r.task_index,
      initialHash: r.initial_hash,
      actions: r.actions.map((a: Record<string, string>) => ({
        name: a.name,
        output: a.output,
        hashAfter: a.hash_after,
      })),
      finalHash: r.final_hash,
      gtDataHash: r.gt_data_hash,
      reward: r.reference_reward_with_oracle_trajectory,
    });
  }
  return out;
}

/** The replay of one task's gold actions. */
export interface GoldReplay {
  readonly initialHash: string;
  readonly actions: readonly {
    readonly name: string;
    readonly output: string | null;
    readonly hashAfter: string;
  }[];
  readonly finalHash: string;
  readonly gtDataHash: string;
  /** The reward of the gold actions plus one text reply with the outputs joined by spaces. */
  readonly reward: number;
}

/** Replay every gold action of `task` on a fresh database, hashing after each. */
export function replayGoldTask(domain: Domain, task: TauTask): GoldReplay {
  const db = new TauDb(pristineTables(domain));
  const initialHash = dbHash(db);
  const actions = task.actions.map((a) => {
    const { observation } = runToolAction(domain, db, a.name, a.kwargs);
    return { name: a.name, output: observation, hashAfter: dbHash(db) };
  });
  const result = calculateReward(domain, task, db, [task.outputs.join(" ")]);
  return {
    initialHash,
    actions,
    finalHash: dbHash(db),
    gtDataHash: result.info.gtDataHash,
    reward: result.reward,
  };
}

/** Where a replay first differs from the oracle, or `undefined` when identical. */
export function compareGold(replay: GoldReplay, oracle: GoldOracleRecord): string | undefined {
  if (replay.initialHash !== oracle.initialHash) return "initial hash differs";
  if (replay.actions.length !== oracle.actions.length) {
    return `action count ${replay.actions.length} != ${oracle.actions.length}`;
  }
  for (let i = 0; i < replay.actions.length; i++) {
    const mine = replay.actions[i]!;
    const ref = oracle.actions[i]!;
    if (mine.output !== ref.output) {
      let k = 0;
      const a = mine.output ?? "None";
      while (a[k] === ref.output[k]) k++;
      return `action ${i} (${ref.name}) output differs at ${k}: got ${
        JSON.stringify(a.slice(Math.max(0, k - 60), k + 60))
      }, want ${JSON.stringify(ref.output.slice(Math.max(0, k - 60), k + 60))}`;
    }
    if (mine.hashAfter !== ref.hashAfter) return `action ${i} (${ref.name}) hash differs`;
  }
  if (replay.finalHash !== oracle.finalHash) return "final hash differs";
  if (replay.gtDataHash !== oracle.gtDataHash) return "gt_data_hash differs";
  return undefined;
}

/** A user that replays the recorded user messages of a trajectory. */
class RecordedUser implements UserSimulator {
  #replies: string[];
  constructor(replies: string[]) {
    this.#replies = replies;
  }
  reset(): Promise<string> {
    return Promise.resolve(this.#replies.shift() ?? "");
  }
  step(): Promise<string> {
    return Promise.resolve(this.#replies.shift() ?? "");
  }
}

/** The outcome of re-running one recorded agent trajectory. */
export interface HistoricalResult {
  readonly taskId: number;
  readonly trial: number;
  readonly recordedReward: number;
  readonly reward: number;
  /** Tool calls whose output differs from the recorded one (`get_user_details` excluded). */
  readonly outputMismatches: readonly string[];
  /** Tool calls compared. */
  readonly outputsCompared: number;
}

/**
 * Re-run the 200 recorded gpt-4o airline trajectories (`historical_trajectories/`): the
 * agent's actions (raw `arguments` JSON) through a fresh episode with the recorded user
 * replies and the recorded task, on the current data.
 */
export async function replayHistorical(): Promise<HistoricalResult[]> {
  const records = parsePyJson(
    readTaubenchDataFile("historical_trajectories/gpt-4o-airline.json.gz"),
  ) as PyDict[];
  const out: HistoricalResult[] = [];
  for (const rec of records) {
    const traj = rec.get("traj") as PyDict[];
    const info = rec.get("info") as PyDict;
    const userReplies = traj.filter((m) => m.get("role") === "user").map((m) =>
      String(m.get("content"))
    );
    const episode = await TauEpisode.create(
      { domain: "airline", task: info.get("task") },
      { user: new RecordedUser(userReplies) },
    );
    const outputMismatches: string[] = [];
    let outputsCompared = 0;
    for (let i = 0; i < traj.length; i++) {
      const m = traj[i]!;
      if (m.get("role") !== "assistant" || episode.done) continue;
      const action = agentAction(m);
      const r = await episode.step(action);
      const next = traj[i + 1];
      // Recorded outputs predate the `province` -> `state` rename, which only
      // `get_user_details` shows; every other tool output must be byte-identical.
      if (
        action.kind === "tool_call" && next?.get("role") === "tool" &&
        action.name !== "get_user_details"
      ) {
        outputsCompared++;
        if (next.get("content") !== r.observation) {
          outputMismatches.push(`${action.name} at message ${i}`);
        }
      }
    }
    out.push({
      taskId: Number(rec.get("task_id")),
      trial: Number(rec.get("trial")),
      recordedReward: Number(rec.get("reward")),
      reward: episode.reward,
      outputMismatches,
      outputsCompared,
    });
  }
  return out;
}

/** The reference agent's action for one assistant message: its first tool call, else its text. */
function agentAction(message: PyDict): AgentAction {
  const calls = message.get("tool_calls");
  if (Array.isArray(calls) && calls.length > 0) {
    const fn = (calls[0] as PyDict).get("function") as PyDict;
    return {
      kind: "tool_call",
      name: String(fn.get("name")),
      arguments: String(fn.get("arguments")),
    };
  }
  const content = message.get("content");
  return { kind: "respond", content: typeof content === "string" ? content : "" };
}

/** Per-split counts of a gold replay run. */
export interface ReplaySummary {
  readonly tasks: number;
  readonly rewardOk: number;
  readonly parityOk: number;
  readonly parityTotal: number;
  readonly rewardOkInOracle: number;
  readonly failures: readonly string[];
}

/** Replay the gold actions of the selected tasks, comparing with `oracle` when given. */
export function replayGoldTasks(
  selection: { domain?: string | undefined; split?: string | undefined; onlyOracle?: boolean },
  oracle?: Map<string, GoldOracleRecord>,
): ReplaySummary {
  let tasksN = 0;
  let rewardOk = 0;
  let parityOk = 0;
  let parityTotal = 0;
  let rewardOkInOracle = 0;
  const failures: string[] = [];
  for (const domain of DOMAINS) {
    if (selection.domain && selection.domain !== domain) continue;
    for (const split of SPLITS[domain]) {
      if (selection.split && selection.split !== split) continue;
      loadTasks(domain, split).forEach((task, i) => {
        const key = taskKey(domain, split, i);
        if (selection.onlyOracle && !oracle?.has(key)) return;
        const replay = replayGoldTask(domain, task);
        tasksN++;
        if (replay.reward === 1) rewardOk++;
        else failures.push(`${key}: gold reward ${replay.reward}`);
        const ref = oracle?.get(key);
        if (ref) {
          parityTotal++;
          if (replay.reward === 1) rewardOkInOracle++;
          const diff = compareGold(replay, ref);
          if (diff === undefined) parityOk++;
          else failures.push(`${key}: ${diff}`);
        }
      });
    }
  }
  return { tasks: tasksN, rewardOk, parityOk, parityTotal, rewardOkInOracle, failures };
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      oracle: { type: "string" },
      domain: { type: "string" },
      split: { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "Usage: replay.ts [--oracle FILE.jsonl.gz] [--domain retail|airline] [--split test|train|dev]",
    );
    return 0;
  }
  if (values.domain && !(DOMAINS as readonly string[]).includes(values.domain)) {
    console.error(`replay: unknown domain "${values.domain}" (expected retail or airline)`);
    return 2;
  }
  if (values.split && !["test", "train", "dev"].includes(values.split)) {
    console.error(`replay: unknown split "${values.split}" (expected test, train or dev)`);
    return 2;
  }
  const oracle = values.oracle ? readGoldOracle(values.oracle) : undefined;
  const t0 = performance.now();
  const summary = replayGoldTasks({ domain: values.domain, split: values.split }, oracle);
  for (const f of summary.failures.slice(0, values.verbose ? undefined : 20)) console.error(f);
  const t1 = performance.now();
  console.log(
    `gold replay: ${summary.tasks} tasks, reward 1.0: ${summary.rewardOk}/${summary.tasks} (${
      ((t1 - t0) / 1000).toFixed(1)
    } s)`,
  );
  const historical = await replayHistorical();
  const matched = historical.filter((h) => h.reward === h.recordedReward).length;
  const compared = historical.reduce((n, h) => n + h.outputsCompared, 0);
  const outputDiffs = historical.flatMap((h) =>
    h.outputMismatches.map((m) => `historical task ${h.taskId} trial ${h.trial}: ${m} differs`)
  );
  for (const d of outputDiffs) console.error(d);
  for (const h of historical) {
    if (h.reward !== h.recordedReward) {
      console.error(
        `historical task ${h.taskId} trial ${h.trial}: reward ${h.reward}, recorded ${h.recordedReward}`,
      );
    }
  }
  console.log(
    `historical: ${historical.length} runs re-scored, ${
      compared - outputDiffs.length
    }/${compared} recorded tool outputs identical (${
      ((performance.now() - t1) / 1000).toFixed(1)
    } s)`,
  );
  const hist = `historical rewards: ${matched}/${historical.length} match`;
  if (oracle) {
    const n = summary.parityTotal;
    console.log(
      `parity: ${summary.parityOk}/${n} tasks, reward 1.0: ${summary.rewardOkInOracle}/${n} tasks, ${hist}`,
    );
  } else console.log(`reward 1.0: ${summary.rewardOk}/${summary.tasks} tasks, ${hist}`);
  const ok = summary.failures.length === 0 && matched === historical.length &&
    outputDiffs.length === 0;
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
