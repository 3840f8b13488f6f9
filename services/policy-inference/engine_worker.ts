/**
 * Entry of the engine worker (see engine_thread.ts): loads a ServingCore from the posted
 * options and runs jobs, cancellations, weight swaps and the close on it, reporting results,
 * deltas, errors (by name) and counters back.
 */
/// <reference lib="deno.worker" />
import type { FromWorker, JobMessage, StatsMessage, ToWorker } from "./engine_thread.ts";
import type { EngineInfo } from "./generation.ts";
import { ServingCore } from "./serving_core.ts";

/** Counters are posted at most this often while decoding, and once when the loop idles. */
const STATS_EVERY_MS = 100;

let core: ServingCore | undefined;
const aborts = new Map<number, AbortController>();
let lastStats = 0;
let statsTimer: ReturnType<typeof setTimeout> | undefined;

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

function info(): EngineInfo | null {
  const e = core?.current;
  return e ? { version: e.version, configJson: e.configJson, shape: e.shape } : null;
}

function stats(): StatsMessage {
  return {
    queueDepth: core?.queueDepth ?? 0,
    activeRequests: core?.activeRequests ?? 0,
    tokensGenerated: core?.tokensGenerated ?? 0,
    current: info(),
  };
}

function postStats(): void {
  clearTimeout(statsTimer);
  statsTimer = undefined;
  lastStats = performance.now();
  post({ type: "stats", stats: stats() });
}

/** Posts the counters now if the last post is old enough, else once the interval ends. */
function throttledStats(): void {
  const wait = lastStats + STATS_EVERY_MS - performance.now();
  if (wait <= 0) postStats();
  else statsTimer ??= setTimeout(postStats, wait);
}

function fail(id: number, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: "error", id, name: e.name, message: e.message });
}

function submit(id: number, m: JobMessage): void {
  const c = core!;
  const abort = new AbortController();
  aborts.set(id, abort);
  let constraint;
  try {
    constraint = m.constraint && c.constraint(m.constraint.tools, m.constraint.endIds);
  } catch (err) {
    aborts.delete(id);
    fail(id, err);
    return;
  }
  c.submit({
    promptIds: m.promptIds,
    sampling: m.sampling,
    seed: m.seed,
    maxTokens: m.maxTokens,
    stop: m.stop,
    pinVersion: m.pinVersion,
    constraint,
    signal: abort.signal,
    onDelta: m.stream ? (delta) => post({ type: "delta", id, delta }) : undefined,
  }).then(
    (result) => post({ type: "result", id, result }),
    (err) => fail(id, err),
  ).finally(() => aborts.delete(id));
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "init":
      try {
        core = await ServingCore.load(msg.options);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        post({ type: "fatal", name: e.name, message: e.message });
        return;
      }
      core.onStep = throttledStats;
      post({ type: "ready", stats: stats() });
      return;
    case "submit":
      submit(msg.id, msg.job);
      return;
    case "cancel":
      aborts.get(msg.id)?.abort();
      return;
    case "apply":
      try {
        const configJson = await core!.apply(msg.version, msg.bytes, msg.meta);
        postStats();
        post({ type: "applied", id: msg.id, configJson });
      } catch (err) {
        fail(msg.id, err);
      }
      return;
    case "close":
      await core?.close();
      postStats();
      post({ type: "closed" });
      return;
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => void handle(e.data);
