/** policy-inference: serves the policy and follows the weights bus. */
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { connectNats } from "@parlmt/nats";
import { runService } from "@parlmt/service";
import { POLICY_CONFIG_SPEC } from "./config.ts";
import { policyService } from "./server.ts";
import { initialWeightsState, watchWeights } from "./weights_watcher.ts";

if (import.meta.main) {
  const code = await runService({
    name: "policy-inference",
    spec: POLICY_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server, logger, signal }) {
      const weights = initialWeightsState();
      server.add(
        PolicyService,
        policyService(config, weights) as ServiceImpl<typeof PolicyService>,
      );
      if (!config.natsUrl) return;
      const nc = await connectNats(config.natsUrl, { name: "policy-inference" });
      const watcher = watchWeights(nc, weights, logger, signal).catch((err) => {
        logger.error("Weights watcher failed", { error: err });
      });
      return {
        async close() {
          await watcher;
          await nc.drain();
        },
      };
    },
  });
  Deno.exit(code);
}
