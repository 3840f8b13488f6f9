/**
 * GPT-2 byte-level pre-tokenisation, as Hugging Face's `ByteLevel` pre-tokenizer does it: split
 * text with the GPT-2 pattern, then map every UTF-8 byte to a printable character.
 */

/** The GPT-2 split pattern (`ByteLevel` with `use_regex: true`). */
export const GPT2_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

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
export function preTokenize(text: string): string[] {
  const enc = new TextEncoder();
  return (text.match(GPT2_PATTERN) ?? []).map((piece) =>
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
