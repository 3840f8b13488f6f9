/**
 * Byte-level BPE encoder/decoder with Hugging Face `tokenizer.json` import and export (model
 * "BPE", pre-tokenizer and decoder "ByteLevel"), so `@huggingface/tokenizers` loads our files.
 */
import {
  fromByteChars,
  ISOLATED_PATTERN,
  preTokenize,
  type PreTokenizerStyle,
} from "./byte_level.ts";

/** The GPT-2 `ByteLevel` pre-tokenizer of `tokenizer.json`. */
const BYTE_LEVEL = {
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: true,
} as const;

/** A trained byte-level BPE tokenizer. */
export class BpeTokenizer {
  /** Token strings by id (byte-level characters), specials last. */
  readonly vocab: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
  readonly specialTokens: readonly string[];
  /** How text is cut into pre-tokens (see {@linkcode PreTokenizerStyle}). */
  readonly preTokenizer: PreTokenizerStyle;
  #ids: Map<string, number>;
  #ranks: Map<string, number>;
  #cache = new Map<string, number[]>();
  #specialPattern: RegExp | null;

  constructor(
    vocab: readonly string[],
    merges: readonly (readonly [string, string])[],
    specialTokens: readonly string[] = [],
    preTokenizer: PreTokenizerStyle = "gpt2",
  ) {
    this.vocab = [...vocab, ...specialTokens];
    this.preTokenizer = preTokenizer;
    this.merges = merges;
    this.specialTokens = specialTokens;
    this.#ids = new Map(this.vocab.map((t, i) => [t, i]));
    if (this.#ids.size !== this.vocab.length) {
      throw new RangeError("Cannot build BPE tokenizer: duplicate tokens in the vocabulary");
    }
    this.#ranks = new Map(merges.map(([a, b], i) => [a + " " + b, i]));
    const esc = specialTokens.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.#specialPattern = esc.length ? new RegExp(`(${esc.join("|")})`) : null;
  }

  /** Vocabulary size. */
  get size(): number {
    return this.vocab.length;
  }

  /** Id of a token string (byte-level form or special), or undefined. */
  tokenId(token: string): number | undefined {
    return this.#ids.get(token);
  }

  /** Text → token ids (special tokens in the text are matched first). */
  encode(text: string): number[] {
    const parts = this.#specialPattern ? text.split(this.#specialPattern) : [text];
    const ids: number[] = [];
    parts.forEach((part, i) => {
      if (i % 2 === 1) ids.push(this.#ids.get(part)!);
      else for (const w of preTokenize(part, this.preTokenizer)) ids.push(...this.#encodeWord(w));
    });
    return ids;
  }

  /** Token ids → text. */
  decode(ids: readonly number[]): string {
    let out = "";
    let run = "";
    for (const id of ids) {
      const t = this.vocab[id];
      if (t === undefined) throw new RangeError(`Cannot decode token id ${id}`);
      if (this.specialTokens.includes(t)) {
        out += fromByteChars(run) + t;
        run = "";
      } else run += t;
    }
    return out + fromByteChars(run);
  }

  #encodeWord(word: string): number[] {
    const hit = this.#cache.get(word);
    if (hit) return hit;
    let syms = Array.from(word);
    while (syms.length > 1) {
      let best = -1;
      let at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.#ranks.get(syms[i] + " " + syms[i + 1]);
        if (r !== undefined && (best < 0 || r < best)) [best, at] = [r, i];
      }
      if (at < 0) break;
      const merged = syms[at]! + syms[at + 1]!;
      const next: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (
          i + 1 < syms.length && syms[i] + syms[i + 1] === merged &&
          this.#ranks.get(syms[i] + " " + syms[i + 1]) === best
        ) {
          next.push(merged);
          i++;
        } else next.push(syms[i]!);
      }
      syms = next;
    }
    const ids = syms.map((s) => this.#ids.get(s)!);
    if (this.#cache.size < 100_000) this.#cache.set(word, ids);
    return ids;
  }

  /** The Hugging Face `tokenizer.json` object. */
  toJSON(): Record<string, unknown> {
    const base = this.vocab.length - this.specialTokens.length;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map((content, i) => ({
        id: base + i,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: this.preTokenizer === "gpt2" ? BYTE_LEVEL : {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: ISOLATED_PATTERN.source },
            behavior: "Isolated",
            invert: false,
          },
          { ...BYTE_LEVEL, use_regex: false },
        ],
      },
      post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.vocab.map((t, i) => [t, i])),
        merges: this.merges.map(([a, b]) => [a, b]),
      },
    };
  }

  /** Loads a byte-level BPE `tokenizer.json` object (as written by toJSON()). */
  static fromJSON(json: Record<string, unknown>): BpeTokenizer {
    const model = json.model as {
      type?: string;
      vocab?: Record<string, number>;
      merges?: unknown[];
    };
    if (!model || model.type !== "BPE" || !model.vocab || !model.merges) {
      throw new SyntaxError("Cannot load tokenizer.json: model is not BPE with vocab and merges");
    }
    const added = (json.added_tokens ?? []) as { id: number; content: string }[];
    const specials = new Set(added.map((t) => t.content));
    const vocab: string[] = [];
    for (const [t, id] of Object.entries(model.vocab)) if (!specials.has(t)) vocab[id] = t;
    const merges = model.merges.map((m) =>
      (typeof m === "string" ? m.split(" ") : m) as [string, string]
    );
    const pre = json.pre_tokenizer as { type?: string; pretokenizers?: { type?: string }[] } | null;
    let style: PreTokenizerStyle;
    if (pre?.type === "ByteLevel") style = "gpt2";
    else if (pre?.type === "Sequence" && pre.pretokenizers?.[0]?.type === "Split") {
      style = "isolated";
    } else {
      throw new SyntaxError(
        `Cannot load tokenizer.json: pre_tokenizer ${pre?.type ?? "null"} is not ByteLevel or ` +
          "the isolated Split + ByteLevel sequence",
      );
    }
    return new BpeTokenizer(
      vocab,
      merges,
      added.sort((a, b) => a.id - b.id).map((t) => t.content),
      style,
    );
  }
}
