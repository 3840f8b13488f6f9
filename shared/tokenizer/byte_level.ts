/**
 * GPT-2 byte-level pre-tokenisation, as Hugging Face's `ByteLevel` pre-tokenizer does it: split
 * text with the GPT-2 pattern, then map every UTF-8 byte to a printable character.
 */

/** The GPT-2 split pattern (`ByteLevel` with `use_regex: true`). */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * How text is cut into pre-tokens before BPE: `"gpt2"` attaches a leading space to the word
 * after it (`" meadow"`), so a word is spelled by other tokens after a quote or bracket than
 * after a space; `"isolated"` makes every run of whitespace its own pre-token and every digit
 * too, so a value is the same tokens wherever it is written (in a request, a plan or a call),
 * which is what copying it needs.
 */
export type PreTokenizerStyle = "gpt2" | "isolated";

/** Every {@linkcode PreTokenizerStyle}. */
export const PRE_TOKENIZER_STYLES: readonly PreTokenizerStyle[] = ["gpt2", "isolated"];

/** The `"isolated"` split pattern: letter runs, single digits, other runs, whitespace runs. */
export const ISOLATED_PATTERN = /\p{L}+|\p{N}|[^\s\p{L}\p{N}]+|\s+/gu;

/** GPT-2's `bytes_to_unicode`: byte value → printable character (256 entries). */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((c, b) => [c, b]),
);

function buildByteToChar(): string[] {
  const printable: number[] = [];
  const ranges: [number, number][] = [[0x21, 0x7e], [0xa1, 0xac], [0xae, 0xff]];
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) printable.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  }
  return out;
}

/** Splits text into pre-tokens, each as its byte-level characters (`" hi"` → `"Ġhi"`). */
export function preTokenize(text: string, style: PreTokenizerStyle = "gpt2"): string[] {
  const enc = new TextEncoder();
  const pattern = style === "isolated" ? ISOLATED_PATTERN : GPT2_PATTERN;
  return (text.match(pattern) ?? []).map((piece) =>
    Array.from(enc.encode(piece), (b) => BYTE_TO_CHAR[b]!).join("")
  );
}

/** Byte-level characters back to text. */
export function fromByteChars(chars: string): string {
  const bytes = Array.from(chars, (c) => {
    const b = CHAR_TO_BYTE.get(c);
    if (b === undefined) throw new RangeError(`Cannot decode byte-level character "${c}"`);
    return b;
  });
  return new TextDecoder().decode(new Uint8Array(bytes));
}
