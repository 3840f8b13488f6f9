/** A tiny seeded model and tokenizer for tests and the bench (fast on two busy cores). */
import {
  encodeWeights,
  initWeights,
  type ModelConfig,
  modelConfig,
  type Weights,
} from "@parlmt/model";
import { type BpeTokenizer, trainTurnTokenizer, TurnTemplate } from "@parlmt/tokenizer";
import type { CoreOptions } from "./serving_core.ts";

const CORPUS = [
  "<|user|>list the files in the document folder<|end|><|assistant|><progress>nothing done yet; plan: ls</progress>[ls(a=True)]<|end|>",
  "<|user|>move report.txt to archive<|end|><|assistant|><progress>plan: mv</progress>[mv(source='report.txt', destination='archive')]<|end|>",
  '<|tool|>{"result": 42}<|end|><|assistant|><progress>done: add</progress>The answer is 42.<|end|>',
  "<|user|>what is 3 plus 4?<|end|><|assistant|><progress>plan: add(a=3, b=4)</progress>[add(a=3, b=4)]<|end|>",
];

/** A tokenizer with the turn template's special tokens (about 300 ids). */
export function testTokenizer(): BpeTokenizer {
  return trainTurnTokenizer(Array(4).fill(CORPUS).flat(), { vocabSize: 300, minFrequency: 2 });
}

/** A tiny config for `tokenizer`. */
export function testConfig(
  tokenizer: BpeTokenizer,
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  return modelConfig({
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    nFf: 64,
    vocabSize: tokenizer.size,
    blockSize: 96,
    // A wide init gives peaked distributions, so greedy choices are not near-ties.
    initStd: 0.3,
    ...overrides,
  });
}

/** Everything a test needs: tokenizer, config, weights and the blob of a version. */
export interface TestModel {
  readonly tokenizer: BpeTokenizer;
  readonly template: TurnTemplate;
  readonly config: ModelConfig;
  readonly weights: Weights;
  blob(version: number): Uint8Array;
}

/** A seeded test model. */
export function testModel(seed = 1, overrides: Partial<ModelConfig> = {}): TestModel {
  const tokenizer = testTokenizer();
  const config = testConfig(tokenizer, overrides);
  const weights = initWeights(config, seed);
  return {
    tokenizer,
    template: new TurnTemplate(tokenizer),
    config,
    weights,
    blob: (version) => encodeWeights(config, weights, version),
  };
}

/**
 * A test model's weights blob (version 7) and tokenizer in a fresh temporary directory, and the
 * core options that serve them (small batch and queue, one thread).
 */
export async function testCoreFiles(
  seed = 3,
  overrides: Partial<ModelConfig> = {},
): Promise<{ dir: string; m: TestModel; options: (over?: Partial<CoreOptions>) => CoreOptions }> {
  const m = testModel(seed, overrides);
  const dir = await Deno.makeTempDir({ prefix: "parlmt-core-" });
  await Deno.writeFile(`${dir}/w.safetensors`, m.blob(7));
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(m.tokenizer.toJSON()));
  const options = (over: Partial<CoreOptions> = {}): CoreOptions => ({
    tokenizer: `${dir}/tokenizer.json`,
    modelDir: "",
    weightsFile: `${dir}/w.safetensors`,
    maxBatch: 4,
    maxQueue: 8,
    retainVersions: 1,
    intraOpThreads: 1,
    intraOpSpinning: false,
    canaryTolerance: 1e-3,
    requireCanary: false,
    ioTurns: 2,
    ...over,
  });
  return { dir, m, options };
}
