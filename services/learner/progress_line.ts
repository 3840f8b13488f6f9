/** A one-line progress display for terminals (`\r` rewrite); silent when not a TTY. */

/** Options of {@linkcode ProgressLine}. */
export interface ProgressLineOptions {
  /** Total steps (for the bar and the percentage). */
  readonly total: number;
  /** Where the text goes. @default {writes to stderr} */
  readonly write?: (text: string) => void;
  /** Whether to draw at all. @default {stderr is a terminal} */
  readonly enabled?: boolean;
  /** Bar width in characters. @default {20} */
  readonly width?: number;
}

const ENCODER = new TextEncoder();

/** Draws `[#####-----] 50% step 5/10 loss 1.23 …` on one terminal line. */
export class ProgressLine {
  #total: number;
  #write: (text: string) => void;
  #enabled: boolean;
  #width: number;
  #drawn = false;

  constructor(opts: ProgressLineOptions) {
    this.#total = Math.max(1, opts.total);
    this.#write = opts.write ?? ((t) => void Deno.stderr.writeSync(ENCODER.encode(t)));
    this.#enabled = opts.enabled ?? Deno.stderr.isTerminal();
    this.#width = opts.width ?? 20;
  }

  /** The line for `step` with `fields` (numbers shown with 4 significant digits). */
  format(step: number, fields: Record<string, number | string>): string {
    const frac = Math.min(1, Math.max(0, step / this.#total));
    const fill = Math.round(frac * this.#width);
    const bar = "#".repeat(fill) + "-".repeat(this.#width - fill);
    const parts = Object.entries(fields).map(([k, v]) =>
      `${k} ${typeof v === "number" ? Number(v.toPrecision(4)) : v}`
    );
    const pct = String(Math.floor(frac * 100)).padStart(3);
    return `[${bar}] ${pct}% step ${step}/${this.#total} ${parts.join(" ")}`;
  }

  /** Redraws the line. */
  update(step: number, fields: Record<string, number | string>): void {
    if (!this.#enabled) return;
    this.#write(`\r\x1b[2K${this.format(step, fields)}`);
    this.#drawn = true;
  }

  /** Ends the line so later output starts on a fresh one. */
  done(): void {
    if (this.#enabled && this.#drawn) this.#write("\n");
    this.#drawn = false;
  }
}
