/** The service skeleton: config, logs, gRPC with health and reflection, metrics, shutdown. */
export * from "./run_service.ts";
