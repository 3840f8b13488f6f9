/**
 * Python `str` methods whose semantics differ from JavaScript's.
 * @module
 */

// deno-lint-ignore no-control-regex -- Python line boundaries include \x1c-\x1e
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
// Python whitespace includes \x1c-\x1f.
const WHITESPACE =
  // deno-lint-ignore no-control-regex
  /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Python `s.splitlines()` (all of Python's line boundaries, no trailing empty line). */
export function pySplitlines(s: string): string[] {
  if (s.length === 0) return [];
  const parts = s.split(LINE_BREAK);
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Python `s.split()` with no separator (runs of Unicode whitespace, no empty strings). */
export function pySplitWhitespace(s: string): string[] {
  return s.split(WHITESPACE).filter((p) => p.length > 0);
}

/** Python `s.strip(chars)` / `lstrip` / `rstrip` with an explicit character set. */
export function pyStrip(
  s: string,
  chars: string,
  side: "both" | "left" | "right" = "both",
): string {
  const set = new Set(chars);
  const cps = [...s];
  let start = 0;
  let end = cps.length;
  if (side !== "right") { while (start < end && set.has(cps[start]!)) start++; }
  if (side !== "left") { while (end > start && set.has(cps[end - 1]!)) end--; }
  return cps.slice(start, end).join("");
}
