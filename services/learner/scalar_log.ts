/**
 * Training scalars keyed by global step (cleanrl style: `losses/…`, `charts/…`, `perf/…`,
 * `off_policy/…`, `rewards/…`): kept in memory for the dashboard (bounded per series) and
 * appended to a JSONL event log.
 */

/** One recorded point. */
export interface ScalarEvent {
  step: number;
  weightsVersion: number;
  /** Unix milliseconds. */
  ts: number;
  scalars: Record<string, number>;
}

/** Options of {@linkcode ScalarLog}. */
export interface ScalarLogOptions {
  /** JSONL file the events are appended to (none: memory only). */
  path?: string;
  /** Points kept per series; older ones are thinned by half. @default {2000} */
  maxPointsPerSeries?: number;
  /** Clock. @default {Date.now} */
  now?: () => number;
}

/** Series by name: `[steps, values]`. */
export type SeriesTable = Record<string, [number[], number[]]>;

/** The learner's scalar history. */
export class ScalarLog {
  #series = new Map<string, [number[], number[]]>();
  #file: Deno.FsFile | undefined;
  #max: number;
  #now: () => number;
  #encoder = new TextEncoder();
  #lastStep = -Infinity;

  private constructor(file: Deno.FsFile | undefined, options: ScalarLogOptions) {
    this.#file = file;
    this.#max = options.maxPointsPerSeries ?? 2000;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.#max) || this.#max < 4) {
      throw new RangeError(`Cannot create scalar log: invalid maxPointsPerSeries ${this.#max}`);
    }
  }

  /** Opens the log, reloading the points an existing file holds. */
  static async open(options: ScalarLogOptions = {}): Promise<ScalarLog> {
    if (!options.path) return new ScalarLog(undefined, options);
    let text = "";
    try {
      text = await Deno.readTextFile(options.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const file = await Deno.open(options.path, { append: true, create: true });
    const log = new ScalarLog(file, options);
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        log.#remember(JSON.parse(line) as ScalarEvent);
      } catch {
        // A torn last line after a crash; the next record starts on a fresh line.
      }
    }
    return log;
  }

  /** Records the scalars of `step`; non-finite values are rejected by name. */
  record(step: number, scalars: Record<string, number>, weightsVersion = 0): ScalarEvent {
    if (!Number.isFinite(step)) throw new RangeError(`Cannot record scalars: invalid step ${step}`);
    for (const [name, value] of Object.entries(scalars)) {
      if (!Number.isFinite(value)) {
        throw new RangeError(
          `Cannot record scalar "${name}" at step ${step}: value ${value} is not finite`,
        );
      }
    }
    const event: ScalarEvent = { step, weightsVersion, ts: this.#now(), scalars: { ...scalars } };
    this.#remember(event);
    this.#file?.writeSync(this.#encoder.encode(JSON.stringify(event) + "\n"));
    return event;
  }

  /** Every series, optionally only the points after `sinceStep`. */
  series(sinceStep = -Infinity): SeriesTable {
    const out: SeriesTable = {};
    for (const [name, [steps, values]] of this.#series) {
      const from = steps.findIndex((s) => s > sinceStep);
      out[name] = from < 0 ? [[], []] : [steps.slice(from), values.slice(from)];
    }
    return out;
  }

  /** The latest value of every series. */
  latest(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, [, values]] of this.#series) out[name] = values[values.length - 1]!;
    return out;
  }

  /** The highest step recorded. */
  get lastStep(): number {
    return this.#lastStep;
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  #remember(event: ScalarEvent): void {
    this.#lastStep = Math.max(this.#lastStep, event.step);
    for (const [name, value] of Object.entries(event.scalars)) {
      let entry = this.#series.get(name);
      if (!entry) this.#series.set(name, entry = [[], []]);
      entry[0].push(event.step);
      entry[1].push(value);
      if (entry[0].length > this.#max) {
        // Keep every other point of the older half: long runs stay drawable.
        const half = Math.floor(entry[0].length / 2);
        const keep = (_: number, i: number) => i >= half || i % 2 === 0;
        entry[0] = entry[0].filter(keep);
        entry[1] = entry[1].filter(keep);
        this.#series.set(name, entry);
      }
    }
  }
}
