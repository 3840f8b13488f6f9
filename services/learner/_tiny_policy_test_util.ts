/** A tiny decoder for policy-update tests, with a probe of log p(token | prompt). */
import { initWeights, LogprobScorer, modelConfig, type Weights } from "@parlmt/model";

/** A 1-layer, width-32 model over 16 tokens and a scorer of continuations of `prompt`. */
export async function tinyPolicy(seed: number, prompt: readonly number[]) {
  const config = modelConfig({
    nLayer: 1,
    nHead: 2,
    nEmbd: 32,
    nFf: 64,
    vocabSize: 16,
    blockSize: 8,
  });
  const weights = initWeights(config, seed);
  const scorer = await LogprobScorer.create(config, { intraOpNumThreads: 1 });
  /** log p(token | prompt) under `w`. */
  const logp = async (w: Weights, token: number): Promise<number> => {
    const inputs = [...prompt, 0];
    const targets = [...prompt.slice(1), token, 0];
    return (await scorer.score(1, inputs, targets, { weights: w }))[prompt.length - 1]!;
  };
  return { config, weights, logp, dispose: () => scorer.dispose() };
}
