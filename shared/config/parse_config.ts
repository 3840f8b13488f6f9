/**
 * Typed service configuration: defaults < config file < environment < flags.
 *
 * A service declares its fields once (type, default, doc); the flag `--kebab-name`, the
 * environment variable `<SERVICE>_<UPPER_SNAKE_NAME>` and the config-file key `camelName` all
 * follow mechanically from the field name.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import YAML from "yaml";

/** The value types a field can have. */
export type FieldType = "string" | "number" | "integer" | "boolean" | "list";

interface FieldTypeMap {
  string: string;
  number: number;
  integer: number;
  boolean: boolean;
  list: readonly string[];
}

/** One configuration field. */
export interface FieldSpec<T extends FieldType = FieldType> {
  type: T;
  default: FieldTypeMap[T];
  /** One line shown by `--help`. */
  doc: string;
  /** Smallest allowed value (number, integer). */
  min?: number;
  /** Largest allowed value (number, integer). */
  max?: number;
  /** Allowed values (string). */
  choices?: readonly string[];
}

/** A service's fields by camelCase name. */
export type ConfigSpec = Record<string, FieldSpec>;

/** The typed, frozen config object of a spec. */
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: FieldTypeMap[S[K]["type"]];
};

/** Thrown for `--help`: its message is the usage text. */
export class HelpRequested extends Error {
  constructor(usage: string) {
    super(usage);
    this.name = "HelpRequested";
  }
}

/** `maxSessions` → `max-sessions`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `maxSessions` → `MAX_SESSIONS`. */
export function upperSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** `env-simulator` → `ENV_SIMULATOR`. */
export function envPrefix(service: string): string {
  return service.replace(/[^A-Za-z0-9]/g, "_").toUpperCase();
}

function coerce(spec: FieldSpec, raw: unknown, source: string): unknown {
  const bad = (why: string) =>
    new RangeError(`Invalid value ${JSON.stringify(raw)} for ${source}: ${why}`);
  switch (spec.type) {
    case "string": {
      if (typeof raw !== "string") throw bad("expected a string");
      if (spec.choices && !spec.choices.includes(raw)) {
        throw bad(`expected one of ${spec.choices.map((c) => `"${c}"`).join(", ")}`);
      }
      return raw;
    }
    case "number":
    case "integer": {
      const n = typeof raw === "number"
        ? raw
        : typeof raw === "string" && raw.trim() !== ""
        ? Number(raw)
        : NaN;
      if (!Number.isFinite(n)) throw bad("expected a number");
      if (spec.type === "integer" && !Number.isInteger(n)) throw bad("expected an integer");
      if (spec.min !== undefined && n < spec.min) throw bad(`must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be at most ${spec.max}`);
      return n;
    }
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw bad("expected true or false");
    }
    case "list": {
      if (Array.isArray(raw) && raw.every((x) => typeof x === "string")) return Object.freeze(raw);
      if (typeof raw === "string") {
        return Object.freeze(raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0));
      }
      throw bad("expected a comma-separated list");
    }
  }
}

/** The `--help` text of a spec. */
export function usage(service: string, spec: ConfigSpec): string {
  const prefix = envPrefix(service);
  const lines = [
    `Usage: ${service} [--config FILE] [--flag value ...]`,
    "",
    "Precedence: defaults < config file (JSON or YAML) < environment < flags.",
    "",
  ];
  for (const [name, field] of Object.entries(spec)) {
    const shown = Array.isArray(field.default) ? field.default.join(",") : String(field.default);
    lines.push(`  --${kebabCase(name)} <${field.type}>  ${field.doc}`);
    lines.push(`      env ${prefix}_${upperSnakeCase(name)}; default: ${JSON.stringify(shown)}`);
  }
  return lines.join("\n");
}

/**
 * Resolves a config from defaults, an optional config file (`--config FILE` or
 * `<SERVICE>_CONFIG`), the environment and flags. Unknown flags and unknown file keys are
 * rejected; bad values raise a RangeError naming the flag, variable or key and the value.
 * `--help` throws {@linkcode HelpRequested}.
 */
export function parseConfig<S extends ConfigSpec>(
  service: string,
  spec: S,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> {
  const prefix = envPrefix(service);
  const options: Record<string, { type: "string" | "boolean" }> = {
    config: { type: "string" },
    help: { type: "boolean" },
  };
  for (const [name, field] of Object.entries(spec)) {
    options[kebabCase(name)] = { type: field.type === "boolean" ? "boolean" : "string" };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new RangeError(
      `Cannot parse flags of ${service}: ${(err as Error).message} (see --help)`,
      { cause: err },
    );
  }
  if (parsed.values.help) throw new HelpRequested(usage(service, spec));

  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(spec)) result[name] = field.default;

  const file = (parsed.values.config as string | undefined) ?? env[`${prefix}_CONFIG`];
  if (file !== undefined) {
    let data: unknown;
    try {
      const text = readFileSync(file, "utf8");
      data = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
    } catch (err) {
      throw new RangeError(`Cannot read config file "${file}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (data !== null && data !== undefined) {
      if (typeof data !== "object" || Array.isArray(data)) {
        throw new RangeError(`Invalid config file "${file}": expected a mapping of fields`);
      }
      for (const [key, value] of Object.entries(data)) {
        const field = spec[key];
        if (!field) throw new RangeError(`Unknown key "${key}" in config file "${file}"`);
        result[key] = coerce(field, value, `key "${key}" in "${file}"`);
      }
    }
  }
  for (const [name, field] of Object.entries(spec)) {
    const variable = `${prefix}_${upperSnakeCase(name)}`;
    const value = env[variable];
    if (value !== undefined) result[name] = coerce(field, value, `env ${variable}`);
  }
  for (const [name, field] of Object.entries(spec)) {
    const flag = kebabCase(name);
    const value = parsed.values[flag];
    if (value !== undefined) result[name] = coerce(field, value, `--${flag}`);
  }
  return Object.freeze(result) as ConfigOf<S>;
}
