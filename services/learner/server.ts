/** The LearnerService handlers: a thin proto <-> domain adapter. */
import { Arm } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import type { LearnerConfig } from "./config.ts";

const ARMS: Record<string, Arm> = {
  "sft": Arm.SFT,
  "mt-grpo": Arm.MT_GRPO,
  "pag+mt-grpo": Arm.PAG_MT_GRPO,
  "pag-rl": Arm.PAG_RL,
};

/** Training progress as the status RPC reports it. */
export interface LearnerState {
  step: bigint;
  weightsVersion: bigint;
}

/**
 * The methods that exist so far: status. Leases and trajectory submission arrive with the
 * PAG-RL learner and answer UNIMPLEMENTED until then.
 */
export function learnerService(
  config: LearnerConfig,
  state: LearnerState,
): Partial<ServiceImpl<typeof LearnerService>> {
  return {
    getLearnerStatus() {
      return {
        step: state.step,
        weightsVersion: state.weightsVersion,
        arm: ARMS[config.arm] ?? Arm.UNSPECIFIED,
      };
    },
  };
}
