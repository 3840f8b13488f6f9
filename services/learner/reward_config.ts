/** The reward configuration and context mode of each arm, and the canonical form of a call. */
import { ContextMode } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { parseCall, renderCall } from "@parlmt/bfcl";
import { DEFAULT_REWARD_WEIGHTS, type RewardWeights } from "./rewards.ts";

/**
 * The context the policy sees in each arm: the whole transcript for the multi-turn GRPO
 * baselines, the latest progress block and what follows it for PAG-RL (and for the `sft` arm,
 * whose PAG data is written in that mode).
 */
export function armContextMode(arm: string): ContextMode {
  return arm === "mt-grpo" || arm === "pag+mt-grpo" ? ContextMode.FULL : ContextMode.PROGRESS;
}

/** The reward weights of an arm: the awareness-alignment term only where the policy is progress-aware. */
export function rewardWeightsFor(arm: string): RewardWeights {
  const progressAware = arm === "pag-rl" || arm === "pag+mt-grpo";
  return Object.freeze({
    ...DEFAULT_REWARD_WEIGHTS,
    alignment: progressAware ? DEFAULT_REWARD_WEIGHTS.alignment : 0,
  });
}

/** A call as the BFCL parser renders it (`cd(folder = 'a')` and `cd(folder='a')` agree). */
export function canonicalCall(call: string): string {
  return renderCall(parseCall(call));
}
