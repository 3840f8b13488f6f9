/** Test helpers: the echo service, spawning services and nats-server. */
export * from "./echo_service.ts";
export * from "./nats_server.ts";
