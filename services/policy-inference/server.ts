/** The PolicyService handlers: a thin proto <-> domain adapter. */
import type { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import type { PolicyConfig } from "./config.ts";
import type { WeightsState } from "./weights_watcher.ts";

/**
 * The methods that exist so far: model listing and serving status. Generate and
 * GenerateStream arrive with the model runtime and answer UNIMPLEMENTED until then.
 */
export function policyService(
  config: PolicyConfig,
  weights: WeightsState,
): Partial<ServiceImpl<typeof PolicyService>> {
  return {
    listModels() {
      return {
        models: [{
          id: config.modelId,
          backend: "onnx",
          weightsVersion: weights.version,
          configJson: weights.meta.config ?? "",
        }],
      };
    },
    getPolicyStatus() {
      return {
        weightsVersion: weights.version,
        queueDepth: 0,
        activeRequests: 0,
        lastSwap: weights.lastSwap,
        tokensGenerated: 0n,
      };
    },
  };
}
