/**
 * Replay the ground truth of every BFCL task in-process, compare with an oracle file and run
 * the checker, in-process or through a running env-simulator (`--grpc HOST:PORT`).
 * Usage: `deno run -A replay.ts [--oracle FILE.jsonl.gz] [--category C] [--grpc ADDR]`.
 * The last line printed is `parity: P/N tasks, checker: C/N passed`.
 * @module
 */
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { parsePyJson, PyDict, pyJsonDumps, type PyValue } from "@parlmt/pycompat";
import { checkMultiTurn } from "./checker.ts";
import { Executor } from "./executor.ts";
import { type BfclTask, listTasks } from "./tasks.ts";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { createClient } from "@parlmt/grpc";
import { replayTaskOverGrpc } from "./replay_grpc.ts";

/** One oracle line: per turn the calls, result strings and encoded state. */
export interface OracleEntry {
  /** Task id. */
  readonly id: string;
  /** Per turn: result strings and the state as `json.dumps` text. */
  readonly turns: readonly { readonly results: readonly string[]; readonly stateJson: string }[];
}

/** Read an oracle `.jsonl.gz` (or plain `.jsonl`) file. */
export function readOracle(path: string): Map<string, OracleEntry> {
  const bytes = Deno.readFileSync(path);
  const text = new TextDecoder().decode(path.endsWith(".gz") ? gunzipSync(bytes) : bytes);
  const out = new Map<string, OracleEntry>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const d = parsePyJson(line) as PyDict;
    const turns = (d.get("turns") as PyValue[]).map((t) => {
      const turn = t as PyDict;
      return {
        results: turn.get("results") as string[],
        stateJson: pyJsonDumps(turn.get("state")!),
      };
    });
    out.set(String(d.get("id")), { id: String(d.get("id")), turns });
  }
  return out;
}

/** The replay of one task: per turn the results and the encoded state. */
export function replayTask(task: BfclTask): { results: string[]; stateJson: string }[] {
  const ex = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
  return task.groundTruth.map((calls) => ({
    results: ex.executeStrings(calls),
    stateJson: ex.stateJson(),
  }));
}

/** Where a replay first differs from the oracle, or `undefined` when it is identical. */
export function compareWithOracle(
  replay: readonly { results: readonly string[]; stateJson: string }[],
  oracle: OracleEntry,
): string | undefined {
  if (replay.length !== oracle.turns.length) {
    return `turn count ${replay.length} != ${oracle.turns.length}`;
  }
  for (let i = 0; i < replay.length; i++) {
    const mine = replay[i]!;
    const ref = oracle.turns[i]!;
    for (let j = 0; j < Math.max(mine.results.length, ref.results.length); j++) {
      if (mine.results[j] !== ref.results[j]) {
        return `turn ${i} call ${j}: got ${JSON.stringify(mine.results[j]?.slice(0, 300))}, want ${
          JSON.stringify(ref.results[j]?.slice(0, 300))
        }`;
      }
    }
    if (mine.stateJson !== ref.stateJson) {
      let k = 0;
      while (mine.stateJson[k] === ref.stateJson[k]) k++;
      return `turn ${i} state differs at ${k}: got ${
        JSON.stringify(mine.stateJson.slice(k - 80, k + 80))
      }, want ${JSON.stringify(ref.stateJson.slice(k - 80, k + 80))}`;
    }
  }
  return undefined;
}

/** Run the ground truth of `task` through the checker as a model answering one step per turn. */
export function checkGroundTruth(task: BfclTask): boolean {
  return checkMultiTurn(task, task.groundTruth.map((calls) => (calls.length ? [calls] : []))).valid;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      oracle: { type: "string" },
      category: { type: "string" },
      grpc: { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "Usage: replay.ts [--oracle FILE.jsonl.gz] [--category C] [--grpc HOST:PORT] [--verbose]",
    );
    return 0;
  }
  const tasks = listTasks(values.category);
  if (tasks.length === 0) {
    console.error(`replay: no tasks in category "${values.category}"`);
    return 2;
  }
  const env = values.grpc ? createClient(EnvService, values.grpc) : undefined;
  try {
    return await run(tasks, values.oracle ? readOracle(values.oracle) : undefined, env);
  } finally {
    env?.close();
  }
}

async function run(
  tasks: BfclTask[],
  oracle: Map<string, OracleEntry> | undefined,
  env: ReturnType<typeof createClient<typeof EnvService>> | undefined,
): Promise<number> {
  let parityOk = 0;
  let parityTotal = 0;
  let checkerOk = 0;
  for (const task of tasks) {
    const remote = env ? await replayTaskOverGrpc(env, task) : undefined;
    if (oracle) {
      const ref = oracle.get(task.id);
      if (ref) {
        parityTotal++;
        const diff = compareWithOracle(remote?.turns ?? replayTask(task), ref);
        if (diff === undefined) parityOk++;
        else console.error(`parity ${task.id}: ${diff}`);
      }
    }
    if (remote ? remote.valid : checkGroundTruth(task)) checkerOk++;
    else console.error(`checker ${task.id}: ground truth rejected`);
  }
  const checker = `checker: ${checkerOk}/${tasks.length} passed`;
  console.log(oracle ? `parity: ${parityOk}/${parityTotal} tasks, ${checker}` : checker);
  return parityOk === parityTotal && checkerOk === tasks.length ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
