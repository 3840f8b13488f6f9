/** Test helpers: the echo service. (Processes are started with @parlmt/stack.) */
export * from "./echo_service.ts";
export * from "./wait_until.ts";
export * from "./assert_rpc_error.ts";
