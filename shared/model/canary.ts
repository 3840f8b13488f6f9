/**
 * The canary of a weights version: the summed logprob of a fixed token sequence under the
 * weights, computed with the training engine's logprob graph. The learner publishes it with
 * every version (`canary_prompt_ids`, `canary_logprob` in the announcement's meta); the policy
 * server recomputes it with its serving graph and refuses the swap on a mismatch.
 */
import type { ModelConfig } from "./config.ts";
import { LogprobScorer } from "./logprobs.ts";
import type { Weights } from "./weights.ts";

/** Meta key of the canary prompt: a JSON array of token ids. */
export const CANARY_PROMPT_KEY = "canary_prompt_ids";
/** Meta key of the expected canary value: the summed logprob as a decimal string. */
export const CANARY_LOGPROB_KEY = "canary_logprob";

/** `{canary_prompt_ids, canary_logprob}`: the sum of log p(ids[t] | ids[<t]) for t ≥ 1. */
export async function canaryMeta(
  config: ModelConfig,
  weights: Weights,
  ids: readonly number[],
): Promise<Record<string, string>> {
  if (ids.length < 2) {
    throw new RangeError(`Cannot compute a canary of ${ids.length} tokens: need at least 2`);
  }
  const scorer = await LogprobScorer.create(config, { weights });
  try {
    const lp = await scorer.score(1, ids.slice(0, -1), ids.slice(1));
    return {
      [CANARY_PROMPT_KEY]: JSON.stringify(ids),
      [CANARY_LOGPROB_KEY]: String(lp.reduce((a, b) => a + b, 0)),
    };
  } finally {
    await scorer.dispose();
  }
}
