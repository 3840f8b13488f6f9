/** The reward configuration and context mode of each arm, and the canonical form of a call. */
import { Arm, ContextMode } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { parseCall, renderCall } from "@parlmt/bfcl";
import { DEFAULT_REWARD_WEIGHTS, type RewardTerm, type RewardWeights } from "./rewards.ts";

/** Each arm's config name and its proto enum value (leases and trajectories carry the enum). */
export const ARM_BY_NAME: Readonly<Record<string, Arm>> = Object.freeze({
  "sft": Arm.SFT,
  "mt-grpo": Arm.MT_GRPO,
  "pag+mt-grpo": Arm.PAG_MT_GRPO,
  "pag-rl": Arm.PAG_RL,
});

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

/**
 * `base` with the weights in `overrides` (`term=weight,...`, e.g. `format=0,alignment=0.5`)
 * replaced; an unknown term, a repeated term or a weight that is not a finite number is an error.
 */
export function withRewardOverrides(base: RewardWeights, overrides: string): RewardWeights {
  const out: Record<RewardTerm, number> = { ...base };
  const seen = new Set<string>();
  for (const item of overrides.split(",").map((x) => x.trim()).filter(Boolean)) {
    const m = /^([a-z_0-9]+)\s*=\s*(.+)$/.exec(item);
    if (!m) {
      throw new RangeError(`Invalid reward weight "${item}": expected term=weight`);
    }
    const [, term, value] = m as unknown as [string, string, string];
    if (!(term in base)) {
      throw new RangeError(
        `Invalid reward weight "${item}": unknown term "${term}" (terms: ${
          Object.keys(base).join(", ")
        })`,
      );
    }
    if (seen.has(term)) throw new RangeError(`Invalid reward weights: "${term}" given twice`);
    seen.add(term);
    const w = Number(value);
    if (!Number.isFinite(w)) {
      throw new RangeError(`Invalid reward weight "${item}": "${value}" is not a finite number`);
    }
    out[term as RewardTerm] = w;
  }
  return Object.freeze(out);
}

/** A call as the BFCL parser renders it (`cd(folder = 'a')` and `cd(folder='a')` agree). */
export function canonicalCall(call: string): string {
  return renderCall(parseCall(call));
}
