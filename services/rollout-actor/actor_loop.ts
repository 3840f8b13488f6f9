/**
 * The actor loop: lease tasks from the learner, run up to `concurrency` episodes at once, renew
 * leases while they run, submit each trajectory (retrying only when the learner is unavailable;
 * submission is idempotent on the trajectory id), and on shutdown stop leasing, let running
 * episodes finish within a grace period, and hand back the leases of the rest.
 */
import { SubmitOutcome } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import type { LearnerService, Lease } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { type Client, Code, RpcError } from "@parlmt/grpc";
import type { Logger } from "@parlmt/log";
import { type EpisodeDeps, type EpisodeOptions, runEpisode } from "./episode.ts";

/** Options of {@linkcode runActor}. */
export interface ActorOptions {
  actorId: string;
  /** Episodes in flight at once. */
  concurrency: number;
  episode: Omit<EpisodeOptions, "signal" | "contextMode">;
  /** How long running episodes may finish after shutdown begins. */
  shutdownGraceMs: number;
  /** Stop after this many submitted trajectories (0: never). */
  maxEpisodes?: number;
}

/** Counters of one actor. */
export interface ActorStats {
  episodes: number;
  accepted: number;
  duplicates: number;
  stale: number;
  failed: number;
  released: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

async function submitWithRetry(
  learner: Client<typeof LearnerService>,
  trajectory: Parameters<Client<typeof LearnerService>["submitTrajectory"]>[0]["trajectory"],
): Promise<SubmitOutcome> {
  for (let attempt = 0;; attempt++) {
    try {
      return (await learner.submitTrajectory({ trajectory })).outcome;
    } catch (err) {
      const retriable = err instanceof RpcError &&
        (err.code === Code.UNAVAILABLE || err.code === Code.RESOURCE_EXHAUSTED);
      if (!retriable || attempt >= 8) throw err;
      await new Promise((r) =>
        setTimeout(r, Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random()))
      );
    }
  }
}

/** Runs until `signal` aborts (or maxEpisodes); resolves with the actor's counters. */
export async function runActor(
  deps: EpisodeDeps & { learner: Client<typeof LearnerService> },
  options: ActorOptions,
  logger: Logger,
  signal: AbortSignal,
): Promise<ActorStats> {
  const { learner } = deps;
  const stats: ActorStats = {
    episodes: 0,
    accepted: 0,
    duplicates: 0,
    stale: 0,
    failed: 0,
    released: 0,
  };
  const running = new Map<string, { lease: Lease; done: Promise<void>; abort: AbortController }>();
  let renewAtMs = 0;
  const enough = () =>
    options.maxEpisodes !== undefined && options.maxEpisodes > 0 &&
    stats.episodes + running.size >= options.maxEpisodes;

  while (!signal.aborted && !(enough() && running.size === 0)) {
    const left = options.maxEpisodes
      ? options.maxEpisodes - stats.episodes - stats.failed - running.size
      : Infinity;
    const free = Math.min(options.concurrency - running.size, left);
    if (free > 0) {
      const { leases, retryAfterMs } = await learner.leaseTasks({
        actorId: options.actorId,
        maxTasks: free,
      });
      for (const lease of leases) start(lease);
      if (leases.length === 0 && running.size === 0) {
        await sleep(Math.max(retryAfterMs, 100), signal);
        continue;
      }
    }
    if (Date.now() >= renewAtMs && running.size > 0) {
      const ids = [...running.keys()];
      const { lost } = await learner.renewLeases({ actorId: options.actorId, leaseIds: ids });
      for (const id of lost) {
        // The learner re-issued it: stop working on it.
        running.get(id)?.abort.abort(new DOMException(`Lease ${id} lost`, "AbortError"));
      }
      renewAtMs = Date.now() + 2000;
    }
    await Promise.race([...[...running.values()].map((r) => r.done), sleep(500, signal)]);
  }

  // Shutdown: finish what runs within the grace period, then hand back the rest.
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((r) => (graceTimer = setTimeout(r, options.shutdownGraceMs)));
  await Promise.race([Promise.all([...running.values()].map((r) => r.done)), grace]);
  clearTimeout(graceTimer);
  const left = [...running.keys()];
  if (left.length > 0) {
    for (const r of running.values()) {
      r.abort.abort(new DOMException("Actor shutting down", "AbortError"));
    }
    const { released } = await learner.releaseLeases({ actorId: options.actorId, leaseIds: left });
    stats.released += released;
    logger.info("Released unfinished leases", { leases: left.length, released });
  }
  return stats;

  function start(lease: Lease): void {
    const abort = new AbortController();
    const done = (async () => {
      try {
        const trajectory = await runEpisode(deps, lease.task!, {
          ...options.episode,
          contextMode: lease.contextMode,
          signal: abort.signal,
        });
        trajectory.id = `${lease.leaseId}@${options.actorId}`;
        trajectory.groupId = lease.groupId;
        trajectory.indexInGroup = lease.indexInGroup;
        trajectory.leaseId = lease.leaseId;
        trajectory.actorId = options.actorId;
        trajectory.arm = lease.arm;
        const outcome = await submitWithRetry(learner, trajectory);
        stats.episodes++;
        if (outcome === SubmitOutcome.ACCEPTED) stats.accepted++;
        else if (outcome === SubmitOutcome.DUPLICATE) stats.duplicates++;
        else if (outcome === SubmitOutcome.STALE) stats.stale++;
      } catch (err) {
        if (!abort.signal.aborted) {
          stats.failed++;
          logger.warn("Episode failed", {
            leaseId: lease.leaseId,
            taskId: lease.task?.id,
            error: err,
          });
          await learner.releaseLeases({ actorId: options.actorId, leaseIds: [lease.leaseId] })
            .catch(() => {});
        }
      } finally {
        running.delete(lease.leaseId);
      }
    })();
    running.set(lease.leaseId, { lease, done, abort });
  }
}
