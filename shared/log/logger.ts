/** Structured JSON-lines logging on stderr (stdout is kept for machine-readable ready lines). */

/** Log levels, in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Flat context fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Where formatted lines go; replaceable in tests. */
export type LogSink = (line: string) => void;

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Service name written in every line. */
  service: string;
  /** Lines below this level are dropped. @default {"info"} */
  level?: LogLevel;
  /** Receives each formatted line. @default {writes to stderr} */
  sink?: LogSink;
  /** Fields added to every line. @default {{}} */
  fields?: LogFields;
}

const ENCODER = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(ENCODER.encode(line + "\n"));
}

/** A JSON logger: one line per event with `ts`, `level`, `service`, `msg` and flat context. */
export class Logger {
  readonly service: string;
  #minRank: number;
  #sink: LogSink;
  #fields: LogFields;

  constructor(options: LoggerOptions) {
    const { service, level = "info", sink = stderrSink, fields = {} } = options;
    if (!(level in LEVEL_RANK)) {
      throw new RangeError(`Cannot create logger: unknown level "${level}"`);
    }
    this.service = service;
    this.#minRank = LEVEL_RANK[level];
    this.#sink = sink;
    this.#fields = fields;
  }

  /** A logger that adds `fields` to every line of this one. */
  child(fields: LogFields): Logger {
    const child = new Logger({ service: this.service, sink: this.#sink });
    child.#minRank = this.#minRank;
    child.#fields = { ...this.#fields, ...fields };
    return child;
  }

  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.#minRank) return;
    const line = {
      ts: new Date().toISOString(),
      level,
      service: this.service,
      msg,
      ...this.#fields,
      ...fields,
    };
    this.#sink(JSON.stringify(line, jsonReplacer));
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}
