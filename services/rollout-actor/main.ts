/** rollout-actor: leases tasks, runs episodes against env-simulator and policy-inference, submits. */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { runService } from "@parlmt/service";
import type { ToolDocStyle } from "@parlmt/tokenizer";
import { hostname } from "node:os";
import { runActor } from "./actor_loop.ts";
import { ACTOR_CONFIG_SPEC } from "./config.ts";

if (import.meta.main) {
  const code = await runService({
    name: "rollout-actor",
    spec: ACTOR_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ config, logger, signal }) {
      const opts = { timeoutMs: config.rpcTimeoutMs, authToken: config.authToken || undefined };
      const deps = {
        learner: createClient(LearnerService, config.learnerAddress, opts),
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
        logger.info("Actor stopped", { ...stats });
      }, (err) => logger.error("Actor failed", { error: err }));
      return Promise.resolve({
        done: config.maxEpisodes > 0 ? run : undefined,
        async close() {
          await run;
          for (const c of Object.values(deps)) c.close();
        },
      });
    },
  });
  Deno.exit(code);
}
