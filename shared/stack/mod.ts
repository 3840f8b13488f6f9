/** Processes: nats-server, service children, health waits and the local stack. */
export * from "./children.ts";
export * from "./health.ts";
export * from "./local_stack.ts";
export * from "./nats_server.ts";
export * from "./spawn_service.ts";
export * from "./reflection_client.ts";
