/**
 * gRPC glue: protobuf-es service descriptors served and called through grpc-js. This package is
 * the only importer of `@grpc/grpc-js`.
 */
export * from "./rpc_error.ts";
export * from "./types.ts";
export * from "./interceptors.ts";
export { DEFAULT_MAX_MESSAGE_BYTES, RpcServer } from "./serve.ts";
export type { AddServiceOptions, RpcServerOptions } from "./serve.ts";
export { createClient, fromServiceError } from "./client.ts";
export type { ClientHandle, ClientOptions } from "./client.ts";
export { methodPath, serviceDefinition } from "./service_definition.ts";
export { reflectionPackage } from "./reflection.ts";
