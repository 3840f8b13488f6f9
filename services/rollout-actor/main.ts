/** rollout-actor: leases tasks, runs episodes against env-simulator and policy-inference, submits. */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import type { Metrics } from "@parlmt/log";
import { runService } from "@parlmt/service";
import type { ToolDocStyle } from "@parlmt/tokenizer";
import { hostname } from "node:os";
import client from "prom-client";
import { type ActorObserver, type ActorStats, runActor } from "./actor_loop.ts";
import { ACTOR_CONFIG_SPEC } from "./config.ts";

/** Episode timings and learner-call metrics on the service's registry. */
export function actorMetrics(metrics: Metrics): ActorObserver {
  const registers = [metrics.registry];
  const episodeMs = new client.Histogram({
    name: "rollout_episode_ms",
    help: "Per-episode wall-clock milliseconds: total, and spent in policy, env and learner RPCs",
    labelNames: ["part"],
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 120_000],
    registers,
  });
  const episodes = metrics.counter("rollout_episodes_total", "Episodes by outcome", ["outcome"]);
  const learnerMs = new client.Histogram({
    name: "rollout_learner_call_ms",
    help: "Milliseconds of each learner call attempt, by method",
    labelNames: ["method"],
    buckets: [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000],
    registers,
  });
  const retries = metrics.counter(
    "rollout_learner_retries_total",
    "Learner call attempts that failed with UNAVAILABLE or DEADLINE_EXCEEDED and were retried",
    ["method"],
  );
  return {
    episode(t, outcome) {
      episodeMs.observe({ part: "total" }, t.totalMs);
      episodeMs.observe({ part: "policy" }, t.policyMs);
      episodeMs.observe({ part: "env" }, t.envMs);
      episodeMs.observe({ part: "learner" }, t.learnerMs);
      episodes.inc({ outcome });
    },
    learnerCall: (method, ms) => learnerMs.observe({ method }, ms),
    learnerRetry: (method) => retries.inc({ method }),
  };
}

/**
 * A client that opens a fresh channel for every `callsPerChannel` calls and closes each one as
 * soon as its calls have finished. Works around Deno 2.9.6's `node:http2`: a client session
 * that receives GOAWAY (a restarting learner sends it to every open connection) may abort the
 * process (SIGSEGV, or nghttp2's `find_stream_on_goaway_func` assertion). Measured with
 * tests/rollout_actor_resilience_test.ts: one long-lived channel crashed the actor on 2 of 3
 * learner restarts, a channel per 16 calls on 1 of 5, a channel per call on 0 of 6. The
 * actor's learner calls are few (a lease or renewal per loop turn, one submission per
 * episode), so a loopback connection per call costs little.
 */
export function rotatingClient<C extends { close(): void }>(
  make: () => C,
  callsPerChannel: number,
): C {
  type Channel = { client: C; calls: number; open: number };
  const fresh = (): Channel => ({ client: make(), calls: 0, open: 0 });
  let current: Channel | undefined;
  const out: Record<string, unknown> = { close: () => current?.client.close() };
  const probe = make();
  const names = Object.keys(probe).filter((n) => n !== "close");
  probe.close();
  for (const name of names) {
    out[name] = (...args: unknown[]) => {
      if (!current || current.calls >= callsPerChannel) current = fresh();
      const ch = current;
      ch.calls++;
      ch.open++;
      const settle = () => {
        ch.open--;
        if (ch.calls >= callsPerChannel && ch.open === 0) {
          ch.client.close();
          if (current === ch) current = undefined;
        }
      };
      let result: unknown;
      try {
        result = (ch.client as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
      } catch (err) {
        settle();
        throw err;
      }
      if (result instanceof Promise) return result.finally(settle);
      settle();
      return result;
    };
  }
  return out as C;
}

/** The stats as logged: timings rounded to whole milliseconds. */
function rounded(stats: ActorStats): Record<string, number> {
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, Math.round(v)]));
}

if (import.meta.main) {
  // Set when the actor loop fails for good: the process then exits non-zero (and its gRPC
  // health stops answering SERVING), so a supervisor restarts it.
  let fatal = false;
  const code = await runService({
    name: "rollout-actor",
    spec: ACTOR_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ config, logger, metrics, signal }) {
      const opts = { timeoutMs: config.rpcTimeoutMs, authToken: config.authToken || undefined };
      const deps = {
        learner: rotatingClient(
          () => createClient(LearnerService, config.learnerAddress, opts),
          1,
        ),
        env: createClient(EnvService, config.envAddress, opts),
        policy: createClient(PolicyService, config.policyAddress, opts),
      };
      const actorId = config.actorId || `${hostname()}-${Deno.pid}`;
      const run = runActor(
        deps,
        {
          actorId,
          concurrency: config.concurrency,
          shutdownGraceMs: config.shutdownGraceMs,
          maxEpisodes: config.maxEpisodes,
          learnerBackoffMaxMs: config.learnerBackoffMaxMs,
          observer: actorMetrics(metrics),
          episode: {
            sampling: {
              temperature: config.temperature,
              topP: config.topP,
              maxTokens: config.maxTokens,
            },
            constrained: config.constrained,
            toolDocs: config.toolDocs as ToolDocStyle,
          },
        },
        logger.child({ actorId }),
        signal,
      ).then((stats) => {
        logger.info("Actor stopped", rounded(stats));
      }, (err) => {
        fatal = true;
        logger.error("Actor failed", { error: err });
      });
      return Promise.resolve({
        // The loop ends on shutdown, after maxEpisodes, or on a fatal error: in the last two
        // cases this shuts the service down.
        done: run,
        async close() {
          await run;
          for (const c of Object.values(deps)) c.close();
        },
      });
    },
  });
  Deno.exit(fatal && code === 0 ? 1 : code);
}
