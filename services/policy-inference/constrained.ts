/**
 * Constrained decoding of the turn format: `<progress>…</progress>` followed by either a BFCL
 * call list `[name(key=value, ...), ...]` naming only the offered tools, with Python literal
 * values (strings, numbers, True/False/None, lists, tuples, dicts), or a plain text reply. The
 * automaton runs on bytes; at each step every token's bytes are tried from the current state,
 * and the end-of-message token is allowed only where the output is complete.
 */
import { CHAR_TO_BYTE } from "@parlmt/tokenizer";

/** Per-request decoding constraint used by the scheduler. */
export interface Constraint {
  /** `[V]` 1 where the next token may be chosen. */
  allowed(): Uint8Array;
  /** Advances past the chosen token. */
  advance(token: number): void;
  /** Whether the output is complete (only the end token may follow). */
  done(): boolean;
}

/** Byte strings of every token id; null for special tokens (never allowed). */
export type TokenBytes = readonly (Uint8Array | null)[];

/** The byte table of a byte-level BPE vocabulary (`vocab` in byte-level characters). */
export function tokenBytesOf(vocab: readonly string[], special: readonly string[]): TokenBytes {
  const sp = new Set(special);
  return vocab.map((t) => {
    if (sp.has(t)) return null;
    const out = new Uint8Array(t.length);
    let i = 0;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) return null;
      out[i++] = b;
    }
    return out.subarray(0, i);
  });
}

const OPEN = "<progress>";
const CLOSE = "</progress>";
const KEYWORDS = ["True", "False", "None"];
const NUMBER_PREFIX = /^-?(\d+(\.\d*)?([eE][+-]?\d*)?)?$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

type Mode =
  | "open" // matching "<progress>"
  | "progress" // free text until "</progress>"
  | "after" // whitespace, then "[" (calls) or text (reply)
  | "reply"
  | "name" // function name
  | "args" // after "(" or ", ": keyword start or ")"
  | "kw" // keyword name
  | "value" // expecting a value
  | "string"
  | "atom" // number or keyword
  | "afterValue"
  | "afterCall" // ", " or "]"
  | "done";

interface State {
  mode: Mode;
  /** Bytes matched of OPEN / CLOSE, or the current name / atom text. */
  buf: string;
  n: number;
  /** Open brackets inside a value. */
  stack: string;
  quote: number;
  escape: boolean;
  /** A value opener was just read (a closer may follow at once). */
  opened: boolean;
}

const isIdStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isId = (c: number) => isIdStart(c) || (c >= 48 && c <= 57);
const CLOSER: Record<string, number> = { "[": 93, "(": 41, "{": 125 };

/** The turn-format automaton over bytes. */
export class TurnFormat {
  #tools: readonly string[];

  constructor(tools: readonly string[]) {
    this.#tools = tools;
  }

  /** The start state. */
  start(): State {
    return { mode: "open", buf: "", n: 0, stack: "", quote: 0, escape: false, opened: false };
  }

  /** Whether the output may end in `s`. */
  accepting(s: State): boolean {
    return s.mode === "done" || (s.mode === "reply" && s.n > 0);
  }

  /** Feeds one byte; returns false (and leaves `s` undefined) when it is not allowed. */
  feed(s: State, c: number): boolean {
    const ch = String.fromCharCode(c);
    switch (s.mode) {
      case "open":
        if (c !== OPEN.charCodeAt(s.n)) return false;
        if (++s.n === OPEN.length) [s.mode, s.n] = ["progress", 0];
        return true;
      case "progress":
        if (c === CLOSE.charCodeAt(s.n)) {
          if (++s.n === CLOSE.length) [s.mode, s.n] = ["after", 0];
        } else s.n = c === 60 ? 1 : 0;
        return true;
      case "after":
        if (c === 32 || c === 10) return true;
        if (c === 91 && this.#tools.length > 0) [s.mode, s.buf, s.n] = ["name", "", 0];
        else if (c === 60 || c === 91) return false;
        else [s.mode, s.n] = ["reply", 1];
        return true;
      case "reply":
        s.n++;
        return true;
      case "name":
        if (c === 32 && s.buf === "" && s.n === 1) return (s.n = 0), true;
        if (c === 40) {
          if (!this.#tools.includes(s.buf)) return false;
          [s.mode, s.n] = ["args", 0];
          return true;
        }
        if (!this.#tools.some((t) => t.startsWith(s.buf + ch))) return false;
        s.buf += ch;
        s.n = 0;
        return true;
      case "args":
        // n = 0 right after "(", 1 after ", ".
        if (c === 41 && s.n === 0) return (s.mode = "afterCall"), true;
        if (c === 32 && s.n === 1) return (s.n = 2), true;
        if (!isIdStart(c)) return false;
        [s.mode, s.buf] = ["kw", ch];
        return true;
      case "kw":
        if (c === 61) return ([s.mode, s.opened] = ["value", false]), true;
        return isId(c);
      case "value":
        return this.#value(s, c, ch);
      case "string":
        if (c === 10) return false;
        if (s.escape) s.escape = false;
        else if (c === 92) s.escape = true;
        else if (c === s.quote) s.mode = "afterValue";
        return true;
      case "atom": {
        const next = s.buf + ch;
        if (
          KEYWORDS.some((k) => k.startsWith(next)) || (/[-\d]/.test(s.buf[0]!) &&
            NUMBER_PREFIX.test(next))
        ) {
          s.buf = next;
          return true;
        }
        if (!(KEYWORDS.includes(s.buf) || NUMBER.test(s.buf))) return false;
        s.mode = "afterValue";
        return this.feed(s, c);
      }
      case "afterValue":
        return this.#afterValue(s, c);
      case "afterCall":
        if (c === 93) return (s.mode = "done"), true;
        if (c === 44) return [s.mode, s.buf, s.n] = ["name", "", 1], true;
        return false;
      case "done":
        return false;
    }
  }

  #value(s: State, c: number, ch: string): boolean {
    if (c === 32) return s.stack.length > 0;
    if (s.opened && c === CLOSER[s.stack.at(-1)!]) {
      s.stack = s.stack.slice(0, -1);
      [s.mode, s.opened] = ["afterValue", false];
      return true;
    }
    s.opened = false;
    if (c === 39 || c === 34) return [s.mode, s.quote, s.escape] = ["string", c, false], true;
    if (c === 91 || c === 40 || c === 123) {
      s.stack += ch;
      s.opened = true;
      return true;
    }
    if ((c >= 48 && c <= 57) || c === 45 || KEYWORDS.some((k) => k.startsWith(ch))) {
      [s.mode, s.buf] = ["atom", ch];
      return true;
    }
    return false;
  }

  #afterValue(s: State, c: number): boolean {
    const top = s.stack.at(-1);
    if (c === 32) return top !== undefined;
    if (top === undefined) {
      if (c === 41) return (s.mode = "afterCall"), true;
      if (c === 44) return [s.mode, s.n] = ["args", 1], true;
      return false;
    }
    if (c === CLOSER[top]) {
      s.stack = s.stack.slice(0, -1);
      return true;
    }
    if (c === 44 || (c === 58 && top === "{")) return (s.mode = "value"), true;
    return false;
  }
}

/** A Constraint of the turn format over a vocabulary. */
export class TurnFormatConstraint implements Constraint {
  /** The offered tools and end ids it was built with (to rebuild it on another thread). */
  readonly tools: readonly string[];
  readonly endIds: readonly number[];
  #fsm: TurnFormat;
  #bytes: TokenBytes;
  #endIds: ReadonlySet<number>;
  #state: State;

  constructor(tools: readonly string[], bytes: TokenBytes, endIds: readonly number[]) {
    this.tools = [...tools];
    this.endIds = [...endIds];
    this.#fsm = new TurnFormat(tools);
    this.#bytes = bytes;
    this.#endIds = new Set(endIds);
    this.#state = this.#fsm.start();
  }

  allowed(): Uint8Array {
    const out = new Uint8Array(this.#bytes.length);
    const accepting = this.#fsm.accepting(this.#state);
    for (let id = 0; id < this.#bytes.length; id++) {
      if (this.#endIds.has(id)) {
        out[id] = accepting ? 1 : 0;
        continue;
      }
      const b = this.#bytes[id];
      if (!b || b.length === 0) continue;
      const s = { ...this.#state };
      let ok = true;
      for (let i = 0; i < b.length && ok; i++) ok = this.#fsm.feed(s, b[i]!);
      out[id] = ok ? 1 : 0;
    }
    return out;
  }

  advance(token: number): void {
    if (this.#endIds.has(token)) {
      this.#state.mode = "done";
      return;
    }
    const b = this.#bytes[token];
    if (!b) throw new RangeError(`Cannot advance constraint: token ${token} is not allowed`);
    for (const c of b) {
      if (!this.#fsm.feed(this.#state, c)) {
        throw new RangeError(`Cannot advance constraint: token ${token} is not allowed`);
      }
    }
  }

  done(): boolean {
    return this.#state.mode === "done";
  }
}
