/** NATS: connections, subject names and the weights bus. */
export * from "./connect.ts";
export * from "./subjects.ts";
export * from "./weights_bus.ts";
