/**
 * Initial states of the curriculum: each class's configuration is drawn from the vendored BFCL
 * configurations and varied at random (file trees, contacts, tweets, stocks, fuel), with
 * split-safe entity values.
 * @module
 */
import { listTasks } from "@parlmt/bfcl";
import { pyDeepCopy, PyDict, type PyRandom, type PyValue } from "@parlmt/pycompat";
import type { EntityKind } from "./entities.ts";

/** A class's initial configuration and the facts the intents may use. */
export interface InitialState {
  readonly config: PyDict;
  readonly facts: ReadonlyMap<string, string>;
}

/** Draws an entity value (recorded by the caller). */
export type Draw = (kind: EntityKind, exclude?: ReadonlySet<string>) => string;

let bfclConfigs: Map<string, PyDict[]> | undefined;

/** Every BFCL configuration of `cls`, in task order. */
function configsOf(cls: string): PyDict[] {
  if (!bfclConfigs) {
    bfclConfigs = new Map();
    for (const t of listTasks()) {
      for (const [k, v] of t.initialConfig) {
        if (!(v instanceof PyDict)) continue;
        const list = bfclConfigs.get(String(k)) ?? [];
        list.push(v);
        bfclConfigs.set(String(k), list);
      }
    }
  }
  return bfclConfigs.get(cls) ?? [];
}

function d(entries: [string, PyValue][]): PyDict {
  return new PyDict(entries);
}

function fileTree(rng: PyRandom, draw: Draw, base: PyDict, facts: Map<string, string>): PyDict {
  const rootName = String([...base.keys()][0] ?? "workspace");
  const folders = new Set<string>();
  const stems = new Set<string>();
  const files: string[] = [];
  const contents = new PyDict();
  const nFolders = rng.randintNumber(2, 3);
  for (let i = 0; i < nFolders; i++) {
    const folder = draw("folder", folders);
    if (folders.has(folder)) continue;
    folders.add(folder);
    const inner = new PyDict();
    const nFiles = rng.randintNumber(1, 2);
    for (let j = 0; j < nFiles; j++) {
      const stem = draw("stem", stems);
      if (stems.has(stem)) continue;
      stems.add(stem);
      const name = `${stem}.${draw("ext")}`;
      const words = Array.from({ length: rng.randintNumber(2, 4) }, () => draw("word"));
      inner.set(name, d([["type", "file"], ["content", words.join(" ")]]));
      files.push(`${folder}/${name}`);
    }
    contents.set(folder, d([["type", "directory"], ["contents", inner]]));
  }
  facts.set("treeFiles", files.join(" "));
  facts.set("treeFolders", [...folders].join(" "));
  return d([[rootName, d([["type", "directory"], ["contents", contents]])]]);
}

const EXTRA_STOCKS: [string, number][] = [["AMZN", 132.45], ["GORI", 48.6]];

/** Builds the initial configuration of `cls` (MathAPI has none). */
export function initialState(cls: string, rng: PyRandom, draw: Draw): InitialState {
  const facts = new Map<string, string>();
  const pool = configsOf(cls);
  const base = pool.length > 0
    ? pyDeepCopy(pool[rng.randintNumber(0, pool.length - 1)]!) as PyDict
    : new PyDict();
  switch (cls) {
    case "GorillaFileSystem": {
      const root = base.get("root");
      const tree = fileTree(rng, draw, root instanceof PyDict ? root : new PyDict(), facts);
      return { config: d([["root", tree]]), facts };
    }
    case "TicketAPI":
      base.set("current_user", draw("person").toLowerCase());
      base.set("ticket_counter", BigInt(rng.randintNumber(100, 9000)));
      return { config: base, facts };
    case "MessageAPI": {
      const users = new PyDict();
      const names = new Set<string>();
      for (let i = 0; i < 3; i++) names.add(draw("person", names));
      [...names].forEach((n, i) => users.set(n, `USR${100 + rng.randintNumber(0, 80) * 10 + i}`));
      base.set("user_map", users);
      base.set("user_count", BigInt(users.size + 1));
      base.set("current_user", "USR001");
      facts.set("msgUsers", [...names].join(","));
      return { config: base, facts };
    }
    case "TwitterAPI": {
      base.set("authenticated", true);
      const tweets = base.get("tweets") instanceof PyDict
        ? base.get("tweets") as PyDict
        : new PyDict();
      let counter = 0n;
      for (const k of tweets.keys()) counter = BigInt(Math.max(Number(counter), Number(k) + 1));
      const word = draw("word");
      const id = counter;
      tweets.set(
        String(id),
        d([
          ["id", id],
          ["username", draw("handle")],
          ["content", `Loving the ${word} today`],
          ["tags", []],
          ["mentions", []],
        ]),
      );
      base.set("tweets", tweets);
      base.set("tweet_counter", id + 1n);
      facts.set("tweetWord", word);
      return { config: base, facts };
    }
    case "TradingBot": {
      base.set("authenticated", true);
      base.set("market_status", "Open");
      const stocks = base.get("stocks");
      if (stocks instanceof PyDict) {
        for (const [sym, price] of EXTRA_STOCKS) {
          if (!stocks.has(sym)) {
            stocks.set(
              sym,
              d([["price", price], ["percent_change", 0.1], ["volume", 1.5], [
                "MA(5)",
                price,
              ], ["MA(20)", price]]),
            );
          }
        }
      }
      const info = base.get("account_info");
      if (info instanceof PyDict) info.set("balance", 50000.0 + rng.randintNumber(0, 99) * 100);
      return { config: base, facts };
    }
    case "VehicleControlAPI":
      base.set("fuelLevel", 5.0 + rng.randintNumber(0, 20));
      base.set("engineState", "stopped");
      return { config: base, facts };
    default:
      return { config: base, facts };
  }
}
