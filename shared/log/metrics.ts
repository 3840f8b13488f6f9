/** Prometheus metrics of one process, on one registry (prom-client). */
import client from "prom-client";

/** The metric types a service registers. */
export type { Counter, Gauge, Histogram } from "prom-client";

/** One process's metrics registry with the RPC metrics every service shares. */
export class Metrics {
  readonly registry: client.Registry;
  /** Completed RPCs by method and status code. */
  readonly rpcTotal: client.Counter<"method" | "code">;
  /** RPC durations in milliseconds by method. */
  readonly rpcDurationMs: client.Histogram<"method">;

  constructor(service: string) {
    this.registry = new client.Registry();
    this.registry.setDefaultLabels({ service });
    client.collectDefaultMetrics({ register: this.registry });
    this.rpcTotal = new client.Counter({
      name: "rpc_requests_total",
      help: "Completed RPCs by method and gRPC status code",
      labelNames: ["method", "code"],
      registers: [this.registry],
    });
    this.rpcDurationMs = new client.Histogram({
      name: "rpc_duration_ms",
      help: "RPC duration in milliseconds",
      labelNames: ["method"],
      buckets: [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000],
      registers: [this.registry],
    });
  }

  /** A counter on this registry. */
  counter<L extends string>(name: string, help: string, labelNames: L[] = []): client.Counter<L> {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge on this registry. */
  gauge<L extends string>(name: string, help: string, labelNames: L[] = []): client.Gauge<L> {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
