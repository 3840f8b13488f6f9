/** The decoder's configuration: a nanoGPT-like object with defaults and validation. */

/**
 * Decoder-only transformer hyperparameters (GPT-2 layout, learned positions, optionally rotary
 * positions on queries and keys as well).
 */
export interface ModelConfig {
  /** Transformer blocks. @default 2 */
  readonly nLayer: number;
  /** Attention heads; must divide `nEmbd`. @default 4 */
  readonly nHead: number;
  /** Residual width C. @default 128 */
  readonly nEmbd: number;
  /** Feed-forward width. @default 512 */
  readonly nFf: number;
  /** Vocabulary size V. @default 512 */
  readonly vocabSize: number;
  /** Context length (maximum positions). @default 256 */
  readonly blockSize: number;
  /** Feed-forward activation. @default "gelu" */
  readonly activation: "gelu" | "relu" | "silu";
  /** LayerNorm epsilon. @default 1e-5 */
  readonly layerNormEps: number;
  /** Std of the normal weight init (residual projections get /√(2·nLayer)). @default 0.02 */
  readonly initStd: number;
  /**
   * Rotary position embedding (RoFormer, "rotate half" layout, base 10000) of each head's
   * queries and keys, besides the learned table: attention then sees relative offsets, which
   * lets a small model learn to copy (previous-token and induction heads) far sooner.
   * @default false
   */
  readonly rotary: boolean;
}

/** The reference model of compute.md: 2 layers, width 128, 4 heads, ff 512, vocab 512, ctx 256. */
export const DEFAULT_MODEL_CONFIG: ModelConfig = Object.freeze({
  nLayer: 2,
  nHead: 4,
  nEmbd: 128,
  nFf: 512,
  vocabSize: 512,
  blockSize: 256,
  activation: "gelu",
  layerNormEps: 1e-5,
  initStd: 0.02,
  rotary: false,
});

/** Fills defaults and validates, throwing a `RangeError` naming the field and its value. */
export function modelConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  const c = { ...DEFAULT_MODEL_CONFIG, ...overrides };
  for (const k of ["nLayer", "nHead", "nEmbd", "nFf", "vocabSize", "blockSize"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new RangeError(`Cannot use model config ${k} ${c[k]}: must be a positive integer`);
    }
  }
  if (c.nEmbd % c.nHead !== 0) {
    throw new RangeError(`Cannot use model config nHead ${c.nHead}: must divide nEmbd ${c.nEmbd}`);
  }
  if (!["gelu", "relu", "silu"].includes(c.activation)) {
    throw new RangeError(`Cannot use model config activation "${c.activation}"`);
  }
  if (!(c.layerNormEps > 0)) {
    throw new RangeError(`Cannot use model config layerNormEps ${c.layerNormEps}`);
  }
  if (!(c.initStd > 0)) throw new RangeError(`Cannot use model config initStd ${c.initStd}`);
  if (typeof c.rotary !== "boolean") {
    throw new RangeError(`Cannot use model config rotary ${c.rotary}: must be true or false`);
  }
  if (c.rotary && (c.nEmbd / c.nHead) % 2 !== 0) {
    throw new RangeError(
      `Cannot use model config rotary with head width ${c.nEmbd / c.nHead}: must be even`,
    );
  }
  return Object.freeze(c);
}

/** Number of parameters. */
export function paramCount(c: ModelConfig): number {
  const { nLayer: L, nEmbd: C, nFf: F, vocabSize: V, blockSize: T } = c;
  const block = 4 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * F + F) + (F * C + C);
  return V * C + T * C + L * block + 2 * C + V * C;
}
