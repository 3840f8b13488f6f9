/** Observability: JSON logs on stderr and Prometheus metrics. */
export * from "./logger.ts";
export * from "./metrics.ts";
