/**
 * `deno task bench:taubench`: replay time of the gold actions of all 685 τ-bench v1 tasks
 * (retail test/train/dev + airline test), in-process, one core. Two figures, medians of several
 * runs after a warm-up:
 * - "replay": fresh database + gold actions + one final hash per task, the work the reference's
 *   figure covers (60.9 s in CPython 3.11: 8.5 + 40.1 + 1.6 + 10.7 s, spec §10; the reference
 *   cannot run here, so its documented time is the comparison);
 * - "full check": the replay CLI's work per task (a hash after every action, the reward with its
 *   own gold replay and both hashes).
 * A baseline measured in the same run, a `JSON.parse` of the airline reservations text, shows
 * the machine's speed.
 * @module
 */
import { parsePyJson } from "@parlmt/pycompat";
import {
  DOMAINS,
  loadTasks,
  pristineTables,
  readTaubenchDataFile,
  SPLITS,
  type TauTask,
} from "../services/env-simulator/taubench/data.ts";
import { TauDb } from "../services/env-simulator/taubench/db.ts";
import { dbHash } from "../services/env-simulator/taubench/db_hash.ts";
import { replayGoldTask } from "../services/env-simulator/taubench/replay.ts";
import { runToolAction } from "../services/env-simulator/taubench/tools.ts";

const REFERENCE_SECONDS = 60.9;
const RUNS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function allTasks(): { domain: "retail" | "airline"; task: TauTask }[] {
  return DOMAINS.flatMap((domain) =>
    SPLITS[domain].flatMap((split) => loadTasks(domain, split).map((task) => ({ domain, task })))
  );
}

function timeIt(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

const tLoad = timeIt(() => {
  for (const d of DOMAINS) pristineTables(d);
});
const tasks = allTasks();
const text = readTaubenchDataFile("airline/reservations.json.gz");
const baseline = median(Array.from({ length: 5 }, () => timeIt(() => JSON.parse(text))));
const pyParse = median(Array.from({ length: 3 }, () => timeIt(() => parsePyJson(text))));

const replay = () => {
  for (const { domain, task } of tasks) {
    const db = new TauDb(pristineTables(domain));
    for (const a of task.actions) runToolAction(domain, db, a.name, a.kwargs);
    dbHash(db);
  }
};
const full = () => {
  for (const { domain, task } of tasks) replayGoldTask(domain, task);
};
replay(); // warm-up
const replayS = median(Array.from({ length: RUNS }, () => timeIt(replay)));
const fullS = median(Array.from({ length: RUNS }, () => timeIt(full)));

console.log(`data load (both domains, once per process): ${tLoad.toFixed(2)} s`);
console.log(
  `baseline: JSON.parse of reservations.json ${(baseline * 1000).toFixed(1)} ms, ` +
    `type-preserving parsePyJson ${(pyParse * 1000).toFixed(1)} ms`,
);
console.log(
  `full check (hash after every action + reward), ${tasks.length} tasks: ${fullS.toFixed(2)} s`,
);
console.log(
  `replay of all ${tasks.length} tasks (fresh DB + gold actions + final hash): ${
    replayS.toFixed(2)
  } s (median of ${RUNS}); reference ${REFERENCE_SECONDS} s, ${
    (REFERENCE_SECONDS / replayS).toFixed(1)
  }x faster`,
);
