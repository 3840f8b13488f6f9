/**
 * Init container of the rollout actors: waits until the learner, env-simulator and
 * policy-inference report SERVING over `grpc.health.v1`, so an actor's first lease does not
 * fail while they are still starting. The addresses come from the actor's own configuration
 * (`ROLLOUT_ACTOR_*` environment, as the actor container gets it).
 *
 *   deno run -A deploy/wait_serving.ts [--timeout-ms N]
 *
 * Exits 0 once all three serve, 1 when one does not within the timeout (the kubelet then
 * restarts the init container with back-off).
 * @module
 */
import { parseArgs } from "node:util";
import { parseConfig } from "@parlmt/config";
import { waitServing } from "@parlmt/stack";
import { ACTOR_CONFIG_SPEC } from "../services/rollout-actor/config.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "timeout-ms": { type: "string", default: "600000" } },
    strict: true,
  });
  const timeoutMs = Number(values["timeout-ms"]);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    console.error(`wait_serving: invalid value "${values["timeout-ms"]}" for --timeout-ms`);
    Deno.exit(2);
  }
  const config = parseConfig("rollout-actor", ACTOR_CONFIG_SPEC, [], Deno.env.toObject());
  const targets = {
    learner: config.learnerAddress,
    "env-simulator": config.envAddress,
    "policy-inference": config.policyAddress,
  };
  const results = await Promise.allSettled(
    Object.entries(targets).map(async ([name, address]) => {
      await waitServing(address, "", timeoutMs);
      console.error(`wait_serving: ${name} at ${address} is SERVING`);
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  for (const f of failed) console.error(`wait_serving: ${(f.reason as Error).message}`);
  Deno.exit(failed.length === 0 ? 0 : 1);
}
