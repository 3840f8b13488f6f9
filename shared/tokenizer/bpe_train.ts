/**
 * Byte-level BPE training: start from the 256 byte symbols and repeatedly merge the most frequent
 * adjacent pair over the corpus's pre-tokens (ties: the pair seen first in sorted order).
 */
import { BYTE_TO_CHAR, preTokenize, type PreTokenizerStyle } from "./byte_level.ts";
import { BpeTokenizer } from "./bpe_tokenizer.ts";

/** Options of trainBpe(). */
export interface TrainBpeOptions {
  /** Final vocabulary size, special tokens included. @default 512 */
  vocabSize?: number;
  /** Special tokens appended after the merges. @default ["<|endoftext|>"] */
  specialTokens?: readonly string[];
  /** Pairs seen fewer times than this are not merged. @default 2 */
  minFrequency?: number;
  /** How text is cut into pre-tokens. @default "gpt2" */
  preTokenizer?: PreTokenizerStyle;
}

/** Trains a byte-level BPE tokenizer on `texts`. */
export function trainBpe(texts: Iterable<string>, opts: TrainBpeOptions = {}): BpeTokenizer {
  const {
    vocabSize = 512,
    specialTokens = ["<|endoftext|>"],
    minFrequency = 2,
    preTokenizer = "gpt2",
  } = opts;
  const numMerges = vocabSize - 256 - specialTokens.length;
  if (!Number.isInteger(numMerges) || numMerges < 0) {
    throw new RangeError(`Cannot train BPE with vocabSize ${vocabSize}: need ≥ 256 + specials`);
  }
  // word (as symbols) → count
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const w of preTokenize(text, preTokenizer)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map((
    [w, n],
  ) => ({ syms: Array.from(w), n }));
  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + "\u0000" + syms[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    }
    let best = "";
    let bestN = 0;
    for (const [k, n] of pairs) {
      if (n > bestN || (n === bestN && k < best)) [best, bestN] = [k, n];
    }
    if (bestN < minFrequency) break;
    const [a, b] = best.split("\u0000") as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      const s = w.syms;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
      }
    }
  }
  const vocab = [...BYTE_TO_CHAR, ...merges.map(([a, b]) => a + b)];
  return new BpeTokenizer(vocab, merges, specialTokens, preTokenizer);
}
