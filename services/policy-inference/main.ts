/** policy-inference: serves the policy (gRPC and OpenAI HTTP) and follows the weights bus. */
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { connectNats } from "@parlmt/nats";
import { runService } from "@parlmt/service";
import { POLICY_CONFIG_SPEC } from "./config.ts";
import { toRpcError } from "./errors.ts";
import { openaiHandler } from "./openai_http.ts";
import { policyService } from "./server.ts";
import { loadRuntime } from "./runtime.ts";
import { initialWeightsState, watchWeights } from "./weights_watcher.ts";

if (import.meta.main) {
  const code = await runService({
    name: "policy-inference",
    spec: POLICY_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server, logger, metrics, signal }) {
      const weights = initialWeightsState();
      const rt = await loadRuntime(config, weights, metrics);
      server.add(PolicyService, policyService(rt.models, weights, rt.stats), {
        errorMapper: toRpcError,
      });
      const http = config.openaiHttp
        ? openaiHandler(rt.models, {
          maxBodyBytes: config.maxHttpBodyBytes,
          onError: (err) => logger.error("OpenAI request failed", { error: err }),
        })
        : undefined;
      let watcher: Promise<void> | undefined;
      let nc: Awaited<ReturnType<typeof connectNats>> | undefined;
      if (config.natsUrl && !config.modelDir) {
        nc = await connectNats(config.natsUrl, { name: "policy-inference" });
        watcher = watchWeights(nc, weights, logger, signal, rt.apply).catch((err) => {
          logger.error("Weights watcher failed", { error: err });
        });
      }
      return {
        http,
        async close() {
          await watcher;
          await nc?.drain();
          await rt.close();
        },
      };
    },
  });
  Deno.exit(code);
}
