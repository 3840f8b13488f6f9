/**
 * Splits an assistant message of the turn format into its progress block and its BFCL call list
 * (`[cd(folder='document'), ls()]`) or plain reply, with a minimal call normaliser for exact-match
 * scoring (whitespace outside string literals removed, string literals re-quoted with `'`), and
 * a progress block into its summary lines and planned calls (`parseProgress`). This
 * is not a Python parser: the environment simulator has the real one.
 * @module
 */

/** The parts of an assistant message. */
export interface AssistantParts {
  /** Text between `<progress>` and `</progress>`, or null when there is no block. */
  readonly progress: string | null;
  /** The normalised calls when the rest is a `[...]` call list, else null. */
  readonly calls: string[] | null;
  /** The text after the progress block, trimmed. */
  readonly rest: string;
}

const PROGRESS = /^\s*<progress>([\s\S]*?)<\/progress>/;

/** Splits `text` into progress block, call list (normalised) and remaining text. */
export function parseAssistantText(text: string): AssistantParts {
  const m = PROGRESS.exec(text);
  const progress = m ? m[1]! : null;
  const rest = (m ? text.slice(m[0].length) : text).trim();
  return { progress, calls: splitCallList(rest), rest };
}

/**
 * Splits `[a(x=1), b()]` into normalised call strings; null when `text` is not a bracketed list
 * of `name(...)` items with balanced brackets and closed strings.
 */
export function splitCallList(text: string): string[] | null {
  const s = text.trim();
  if (!s.startsWith("[") || !s.endsWith("]")) return null;
  const calls: string[] = [];
  let depth = 0;
  let cur = "";
  let quote = "";
  for (let i = 1; i < s.length - 1; i++) {
    const ch = s[i]!;
    if (quote) {
      cur += ch;
      if (ch === "\\") cur += s[++i] ?? "";
      else if (ch === quote) quote = "";
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch) && --depth < 0) return null;
    else if (ch === "," && depth === 0) {
      calls.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (quote || depth !== 0) return null;
  if (cur.trim() || calls.length) calls.push(cur);
  const out = calls.map(normalizeCall);
  return out.every((c) => /^[A-Za-z_][\w.]*\(.*\)$/s.test(c)) ? out : null;
}

/** Removes whitespace outside string literals and writes every string literal with `'`. */
export function normalizeCall(call: string): string {
  let out = "";
  for (let i = 0; i < call.length; i++) {
    const ch = call[i]!;
    if (ch === "'" || ch === '"') {
      let body = "";
      let j = i + 1;
      for (; j < call.length && call[j] !== ch; j++) {
        if (call[j] === "\\") {
          const next = call[++j] ?? "";
          body += next === ch || next === "'" || next === '"' ? next : "\\" + next;
        } else body += call[j];
      }
      out += "'" + body.replace(/'/g, "\\'") + "'";
      i = j;
    } else if (!/\s/.test(ch)) out += ch;
  }
  return out;
}

/** Splits `a; b; c` at top-level `;` (not inside quotes or brackets). */
export function splitPlan(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let depth = 0;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      cur += ch;
      if (ch === "\\") cur += text[++i] ?? "";
      else if (ch === quote) quote = "";
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    else if (ch === ";" && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Parses `<progress>` text into summary lines and plan entries; null when malformed. */
export function parseProgress(text: string): { summary: string[]; plan: string[] } | null {
  const m = /^<progress>([\s\S]*)<\/progress>$/.exec(text.trim());
  if (!m) return null;
  const lines = m[1]!.split("\n");
  const last = lines.pop() ?? "";
  if (!last.startsWith("plan: ")) return null;
  const body = last.slice("plan: ".length).trim();
  return { summary: lines, plan: body === "none" ? [] : splitPlan(body) };
}
