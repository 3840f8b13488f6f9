/**
 * The actor loop: lease tasks from the learner, run up to `concurrency` episodes at once, renew
 * leases while they run, submit each trajectory (submission is idempotent on the trajectory id),
 * and on shutdown stop leasing, let running episodes finish within a grace period, and hand back
 * the leases of the rest.
 *
 * Learner calls that fail with UNAVAILABLE or DEADLINE_EXCEEDED (the learner is not up yet, or
 * restarts) are retried with capped, jittered backoff while the actor is not shutting down; any
 * other failure of the loop's own calls is fatal: the loop winds down like on shutdown and then
 * rejects, and the service exits non-zero so its supervisor restarts it.
 *
 * Every episode is timed: milliseconds spent in policy RPCs, env RPCs and learner RPCs (its
 * submission plus its share of the lease call that brought it), reported to an optional
 * {@linkcode ActorObserver} and summed in the {@linkcode ActorStats}.
 */
import { SubmitOutcome } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import type { LearnerService, Lease } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { type Client, Code, codeName, RpcError } from "@parlmt/grpc";
import type { Logger } from "@parlmt/log";
import { armWritesProgress, type EpisodeDeps, type EpisodeOptions, runEpisode } from "./episode.ts";

/** Where one episode's wall-clock time went, in milliseconds. */
export interface EpisodeTiming {
  /** From the lease to the end of the submission (including its share of the lease call). */
  totalMs: number;
  /** In `PolicyService` calls (generate). */
  policyMs: number;
  /** In `EnvService` calls (create, execute, advance, state, evaluate, close). */
  envMs: number;
  /** In learner calls: the submission plus this lease's share of its lease call. */
  learnerMs: number;
}

/** How an episode ended: the learner's verdict on its submission, or failed. */
export type EpisodeOutcome = "accepted" | "duplicate" | "stale" | "other" | "failed";

/** The learner calls the loop makes. */
export type LearnerMethod = "leaseTasks" | "renewLeases" | "releaseLeases" | "submitTrajectory";

/** Hooks for metrics; all optional. */
export interface ActorObserver {
  /** An episode finished (submitted with `outcome`, or failed). */
  episode?(timing: EpisodeTiming, outcome: EpisodeOutcome): void;
  /** One learner call attempt took `ms` (successful or not). */
  learnerCall?(method: LearnerMethod, ms: number): void;
  /** A learner call failed retriably and will be tried again. */
  learnerRetry?(method: LearnerMethod): void;
}

/** Options of {@linkcode runActor}. */
export interface ActorOptions {
  actorId: string;
  /** Episodes in flight at once. */
  concurrency: number;
  episode: Omit<EpisodeOptions, "signal" | "contextMode">;
  /** How long running episodes may finish after shutdown begins. */
  shutdownGraceMs: number;
  /** Stop after this many episodes, submitted or failed (0: never). */
  maxEpisodes?: number;
  /** Longest wait between retries of a learner call. @default {5000} */
  learnerBackoffMaxMs?: number;
  observer?: ActorObserver;
}

/** Counters of one actor, with the summed episode timings. */
export interface ActorStats {
  episodes: number;
  accepted: number;
  duplicates: number;
  stale: number;
  failed: number;
  released: number;
  /** Learner call attempts that failed retriably. */
  learnerRetries: number;
  /** Sums over timed (submitted or failed) episodes, in milliseconds. */
  episodeMs: number;
  policyMs: number;
  envMs: number;
  learnerMs: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Options of {@linkcode retryLearnerCall}. */
export interface RetryOptions {
  /** Stop retrying once this aborts (the last error is thrown). */
  signal?: AbortSignal;
  /** Stop retrying when the next attempt would start after this time (epoch ms). */
  deadlineMs?: number;
  /** Attempts in all (default: unlimited). */
  maxAttempts?: number;
  /** Codes worth another attempt. @default {UNAVAILABLE, DEADLINE_EXCEEDED} */
  codes?: readonly Code[];
  /** First wait; doubles per attempt up to `maxBackoffMs`, with ±25% jitter. @default {100} */
  baseMs?: number;
  /** @default {5000} */
  maxBackoffMs?: number;
  /** Called before each wait. */
  onRetry?(attempt: number, err: RpcError, waitMs: number): void;
}

/**
 * Calls `call` until it succeeds, retrying retriable gRPC failures with capped exponential
 * backoff; throws the last error when it is not retriable or retrying must stop.
 */
export async function retryLearnerCall<T>(
  call: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const {
    signal,
    deadlineMs,
    maxAttempts = Infinity,
    codes = [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED],
    baseMs = 100,
    maxBackoffMs = 5000,
  } = options;
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RpcError) || !codes.includes(err.code)) throw err;
      const waitMs = Math.min(maxBackoffMs, baseMs * 2 ** Math.min(attempt - 1, 30)) *
        (0.75 + Math.random() / 2);
      if (
        signal?.aborted || attempt >= maxAttempts ||
        (deadlineMs !== undefined && Date.now() + waitMs > deadlineMs)
      ) throw err;
      options.onRetry?.(attempt, err, waitMs);
      await sleep(waitMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}

/** Wraps every method of a unary client so each call's duration is added by `add`. */
function timedClient<C extends object>(client: C, add: (ms: number) => void): C {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(client)) {
    if (typeof fn !== "function") continue;
    out[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const result = fn.apply(client, args);
      if (!(result instanceof Promise)) return result;
      return result.finally(() => add(performance.now() - t0));
    };
  }
  return out as C;
}

/** Runs until `signal` aborts (or maxEpisodes); resolves with the actor's counters. */
export async function runActor(
  deps: EpisodeDeps & { learner: Client<typeof LearnerService> },
  options: ActorOptions,
  logger: Logger,
  signal: AbortSignal,
): Promise<ActorStats> {
  const { learner } = deps;
  const { observer } = options;
  const stats: ActorStats = {
    episodes: 0,
    accepted: 0,
    duplicates: 0,
    stale: 0,
    failed: 0,
    released: 0,
    learnerRetries: 0,
    episodeMs: 0,
    policyMs: 0,
    envMs: 0,
    learnerMs: 0,
  };
  const running = new Map<string, { lease: Lease; done: Promise<void>; abort: AbortController }>();
  let renewAtMs = 0;
  let outage = false;
  // Failed episodes count toward maxEpisodes too (as in `left` below): otherwise one failure
  // would leave the loop waiting forever for an episode it never starts.
  const enough = () =>
    options.maxEpisodes !== undefined && options.maxEpisodes > 0 &&
    stats.episodes + stats.failed + running.size >= options.maxEpisodes;

  /** One learner call, timed, retried on UNAVAILABLE/DEADLINE_EXCEEDED per `retry`. */
  async function callLearner<T>(
    method: LearnerMethod,
    call: () => Promise<T>,
    retry: RetryOptions,
  ): Promise<{ value: T; ms: number }> {
    let ms = 0;
    const value = await retryLearnerCall(async () => {
      const t0 = performance.now();
      try {
        return await call();
      } finally {
        const took = performance.now() - t0;
        ms += took;
        observer?.learnerCall?.(method, took);
      }
    }, {
      maxBackoffMs: options.learnerBackoffMaxMs ?? 5000,
      ...retry,
      onRetry(attempt, err, waitMs) {
        stats.learnerRetries++;
        observer?.learnerRetry?.(method);
        if (attempt === 1 || attempt % 10 === 0) {
          logger.warn("Learner call failed; retrying", {
            method,
            attempt,
            waitMs: Math.round(waitMs),
            code: codeName(err.code),
            error: err.message,
          });
        }
        outage = true;
      },
    });
    if (outage) {
      outage = false;
      logger.info("Learner reachable again", { method });
    }
    return { value, ms };
  }

  let fatal: { error: unknown } | undefined;
  try {
    while (!signal.aborted && !(enough() && running.size === 0)) {
      const left = options.maxEpisodes
        ? options.maxEpisodes - stats.episodes - stats.failed - running.size
        : Infinity;
      const free = Math.min(options.concurrency - running.size, left);
      if (free > 0) {
        const leased = await callLearner(
          "leaseTasks",
          () => learner.leaseTasks({ actorId: options.actorId, maxTasks: free }),
          { signal },
        ).catch((err) => {
          if (signal.aborted) return undefined;
          throw err;
        });
        if (!leased) break;
        const { leases, retryAfterMs } = leased.value;
        const share = leases.length > 0 ? leased.ms / leases.length : 0;
        for (const lease of leases) start(lease, share);
        if (leases.length === 0 && running.size === 0) {
          await sleep(Math.max(retryAfterMs, 100), signal);
          continue;
        }
      }
      if (Date.now() >= renewAtMs && running.size > 0) {
        const ids = [...running.keys()];
        const renewed = await callLearner(
          "renewLeases",
          () => learner.renewLeases({ actorId: options.actorId, leaseIds: ids }),
          { signal },
        ).catch((err) => {
          if (signal.aborted) return undefined;
          throw err;
        });
        if (!renewed) break;
        for (const id of renewed.value.lost) {
          // The learner re-issued it: stop working on it.
          running.get(id)?.abort.abort(new DOMException(`Lease ${id} lost`, "AbortError"));
        }
        renewAtMs = Date.now() + 2000;
      }
      await Promise.race([...[...running.values()].map((r) => r.done), sleep(500, signal)]);
    }
  } catch (err) {
    fatal = { error: err };
    logger.error("Actor loop failed; winding down", { error: err });
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
    try {
      const { value } = await callLearner(
        "releaseLeases",
        () => learner.releaseLeases({ actorId: options.actorId, leaseIds: left }),
        { deadlineMs: Date.now() + Math.min(5000, Math.max(options.shutdownGraceMs, 1000)) },
      );
      stats.released += value.released;
      logger.info("Released unfinished leases", { leases: left.length, released: value.released });
    } catch (err) {
      // They expire by TTL and are re-issued then.
      logger.warn("Cannot release unfinished leases", { leases: left.length, error: err });
    }
  }
  if (fatal) throw fatal.error;
  return stats;

  function start(lease: Lease, leaseShareMs: number): void {
    const abort = new AbortController();
    const t0 = performance.now();
    const timing: EpisodeTiming = { totalMs: 0, policyMs: 0, envMs: 0, learnerMs: leaseShareMs };
    const timedDeps: EpisodeDeps = {
      env: timedClient(deps.env, (ms) => (timing.envMs += ms)),
      policy: timedClient(deps.policy, (ms) => (timing.policyMs += ms)),
    };
    const done = (async () => {
      let outcome: EpisodeOutcome | undefined;
      let finished = false;
      try {
        const trajectory = await runEpisode(timedDeps, lease.task!, {
          ...options.episode,
          contextMode: lease.contextMode,
          progressBlocks: armWritesProgress(lease.arm),
          signal: abort.signal,
        });
        trajectory.id = `${lease.leaseId}@${options.actorId}`;
        trajectory.groupId = lease.groupId;
        trajectory.indexInGroup = lease.indexInGroup;
        trajectory.leaseId = lease.leaseId;
        trajectory.actorId = options.actorId;
        trajectory.arm = lease.arm;
        // Idempotent on the trajectory id, so any transient failure may be retried: while the
        // actor runs, until the learner is back (its lease is renewed meanwhile); once it shuts
        // down, a single attempt (the lease expires and is re-issued).
        const submitted = await callLearner(
          "submitTrajectory",
          () => learner.submitTrajectory({ trajectory }),
          {
            signal,
            codes: [Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.DEADLINE_EXCEEDED],
          },
        );
        timing.learnerMs += submitted.ms;
        stats.episodes++;
        finished = true;
        switch (submitted.value.outcome) {
          case SubmitOutcome.ACCEPTED:
            stats.accepted++;
            outcome = "accepted";
            break;
          case SubmitOutcome.DUPLICATE:
            stats.duplicates++;
            outcome = "duplicate";
            break;
          case SubmitOutcome.STALE:
            stats.stale++;
            outcome = "stale";
            break;
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          stats.failed++;
          outcome = "failed";
          finished = true;
          logger.warn("Episode failed", {
            leaseId: lease.leaseId,
            taskId: lease.task?.id,
            error: err,
          });
          await callLearner(
            "releaseLeases",
            () => learner.releaseLeases({ actorId: options.actorId, leaseIds: [lease.leaseId] }),
            { signal, maxAttempts: 5 },
          ).then((r) => (timing.learnerMs += r.ms), () => {});
        }
      } finally {
        running.delete(lease.leaseId);
        if (finished) {
          timing.totalMs = performance.now() - t0 + leaseShareMs;
          stats.episodeMs += timing.totalMs;
          stats.policyMs += timing.policyMs;
          stats.envMs += timing.envMs;
          stats.learnerMs += timing.learnerMs;
          observer?.episode?.(timing, outcome ?? "other");
        }
      }
    })();
    running.set(lease.leaseId, { lease, done, abort });
  }
}
