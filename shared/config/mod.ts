/** Typed configuration: defaults < config file < environment < flags. */
export * from "./parse_config.ts";
