/** Turns a protobuf-es service descriptor into a grpc-js service definition (no per-method code). */
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";

/** Marks a request whose bytes did not decode, so the handler can answer INVALID_ARGUMENT. */
export class DecodeFailure {
  constructor(readonly error: unknown) {}
}

/** The gRPC path of a method: `/package.Service/Method`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serializer(schema: DescMessage): (value: unknown) => Buffer {
  return (value) => {
    // Handlers and callers may give init objects; create() fills in defaults and is a no-op
    // for complete messages.
    // deno-lint-ignore no-explicit-any
    const bytes = toBinary(schema, create(schema, value as any));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      return new DecodeFailure(err);
    }
  };
}

/** The grpc-js definition of one method. */
export function methodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  const kind = method.methodKind;
  return {
    path: methodPath(method),
    requestStream: kind === "client_streaming" || kind === "bidi_streaming",
    responseStream: kind === "server_streaming" || kind === "bidi_streaming",
    requestSerialize: serializer(method.input),
    requestDeserialize: deserializer(method.input),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output),
    originalName: method.localName,
  };
}

/** The grpc-js definition of a service, keyed by the methods' local (camelCase) names. */
export function serviceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) definition[method.localName] = methodDefinition(method);
  return definition as ServiceDefinition;
}
