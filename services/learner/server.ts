/** The LearnerService handlers: a thin proto <-> domain adapter over the coordinator. */
import { Arm } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { type LearnerService, SubmitOutcome } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { Code, RpcError, type ServiceImpl } from "@parlmt/grpc";
import type { LearnerConfig } from "./config.ts";
import type { Coordinator } from "./coordinator.ts";
import { ARM_BY_NAME, armContextMode } from "./reward_config.ts";
import type { TrainingLoop } from "./training_loop.ts";

/** Training progress as the status RPC reports it. */
export interface LearnerState {
  step: bigint;
  scalars: Record<string, number>;
}

const OUTCOMES = {
  accepted: SubmitOutcome.ACCEPTED,
  duplicate: SubmitOutcome.DUPLICATE,
  stale: SubmitOutcome.STALE,
} as const;

/** The LearnerService handlers. */
export function learnerService(
  config: LearnerConfig,
  state: LearnerState,
  coordinator: Coordinator,
  trainingStep: () => bigint = () => state.step,
  loop?: Pick<TrainingLoop, "finish">,
): ServiceImpl<typeof LearnerService> {
  const arm = ARM_BY_NAME[config.arm] ?? Arm.UNSPECIFIED;
  const contextMode = armContextMode(config.arm);
  return {
    async leaseTasks(req) {
      let leases;
      try {
        leases = await coordinator.lease(req.actorId, req.maxTasks || 1);
      } catch (err) {
        if (err instanceof TypeError || err instanceof RangeError) {
          throw new RpcError(Code.INVALID_ARGUMENT, err.message);
        }
        throw err;
      }
      const minPolicyVersion = coordinator.weightsVersion > BigInt(config.maxStaleness)
        ? coordinator.weightsVersion - BigInt(config.maxStaleness)
        : 0n;
      return {
        leases: leases.map((l) => ({
          leaseId: l.leaseId,
          task: l.task,
          groupId: l.groupId,
          groupSize: l.groupSize,
          indexInGroup: l.indexInGroup,
          expiresAtMs: BigInt(l.expiresAtMs),
          arm,
          contextMode,
          minPolicyVersion,
        })),
        retryAfterMs: leases.length === 0 ? 1000 : 0,
      };
    },
    renewLeases(req) {
      const r = coordinator.renew(req.actorId, req.leaseIds);
      return { renewed: r.renewed, lost: r.lost, expiresAtMs: BigInt(r.expiresAtMs) };
    },
    releaseLeases(req) {
      return { released: coordinator.release(req.actorId, req.leaseIds) };
    },
    async submitTrajectory(req) {
      if (!req.trajectory) {
        throw new RpcError(Code.INVALID_ARGUMENT, "SubmitTrajectory needs a trajectory");
      }
      let outcome;
      try {
        outcome = await coordinator.submit(req.trajectory);
      } catch (err) {
        if (err instanceof TypeError) throw new RpcError(Code.INVALID_ARGUMENT, err.message);
        if (err instanceof RangeError) throw new RpcError(Code.NOT_FOUND, err.message);
        throw err;
      }
      return { outcome: OUTCOMES[outcome], weightsVersion: coordinator.weightsVersion };
    },
    getLearnerStatus() {
      return {
        step: trainingStep(),
        weightsVersion: coordinator.weightsVersion,
        arm,
        activeLeases: coordinator.activeLeases,
        bufferedTrajectories: coordinator.buffered,
        acceptedTrajectories: BigInt(coordinator.stored),
        staleTrajectories: BigInt(coordinator.counters.stale),
        scalars: state.scalars,
      };
    },
    async finishTraining() {
      if (!loop) {
        throw new RpcError(
          Code.FAILED_PRECONDITION,
          "FinishTraining: this learner does not train (started without --init-model)",
        );
      }
      const r = await loop.finish();
      return { step: BigInt(r.step), weightsVersion: r.weightsVersion, averaged: r.averaged };
    },
  };
}
