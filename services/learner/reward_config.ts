/** The reward configuration of each arm, and the canonical form of a call for comparisons. */
import { parseCall, renderCall } from "@parlmt/bfcl";
import { DEFAULT_REWARD_WEIGHTS, type RewardWeights } from "./rewards.ts";

/** Reward weights per arm: awareness alignment counts only where the policy writes progress. */
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
