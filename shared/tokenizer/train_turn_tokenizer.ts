/** Trains a byte-level BPE tokenizer with the turn template's special tokens registered. */
import type { BpeTokenizer } from "./bpe_tokenizer.ts";
import { trainBpe } from "./bpe_train.ts";
import type { PreTokenizerStyle } from "./byte_level.ts";
import { TURN_SPECIAL_TOKENS } from "./turn_template.ts";

/** Options of trainTurnTokenizer(). */
export interface TrainTurnTokenizerOptions {
  /** Final vocabulary size, the special tokens included. @default 512 */
  readonly vocabSize?: number;
  /** Pairs seen fewer times than this are not merged. @default 2 */
  readonly minFrequency?: number;
  /** How text is cut into pre-tokens. @default "gpt2" */
  readonly preTokenizer?: PreTokenizerStyle;
}

/**
 * Trains on `texts` (rendered conversations or plain text); occurrences of the special tokens
 * are cut out first so no merge spans or spells them.
 */
export function trainTurnTokenizer(
  texts: Iterable<string>,
  opts: TrainTurnTokenizerOptions = {},
): BpeTokenizer {
  const esc = TURN_SPECIAL_TOKENS.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const split = new RegExp(esc.join("|"));
  function* pieces(): Generator<string> {
    for (const t of texts) yield* t.split(split).filter((p) => p.length > 0);
  }
  return trainBpe(pieces(), {
    vocabSize: opts.vocabSize ?? 512,
    minFrequency: opts.minFrequency ?? 2,
    specialTokens: TURN_SPECIAL_TOKENS,
    preTokenizer: opts.preTokenizer ?? "gpt2",
  });
}
