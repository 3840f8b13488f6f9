/** A gRPC server for protobuf-es services on grpc-js, with health, reflection and interceptors. */
import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import { once } from "node:events";
import { Health } from "@parlmt/gen/grpc/health/v1/health_pb.ts";
import { chain, type Interceptor, type Next } from "./interceptors.ts";
import { readableMessages } from "./readable_messages.ts";
import { reflectionPackage } from "./reflection.ts";
import { Code, type ErrorMapper, RpcError, toRpcError } from "./rpc_error.ts";
import { DecodeFailure, methodDefinition, methodPath } from "./service_definition.ts";
import type { HandlerContext, ServiceImpl } from "./types.ts";

/** Default maximum size of one message, each way. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Options of {@linkcode RpcServer}. */
export interface RpcServerOptions {
  /** Largest message accepted or sent, in bytes. @default {16 MiB} */
  maxMessageBytes?: number;
  /** Interceptors around every handler, the first outermost. @default {[]} */
  interceptors?: Interceptor[];
}

/** Options of {@linkcode RpcServer.add}. */
export interface AddServiceOptions {
  /** Maps the service's domain errors to RpcErrors; unmapped errors become INTERNAL. */
  errorMapper?: ErrorMapper;
}

type AnyHandler = (...args: never[]) => unknown;
type ServerCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * A grpc-js server that serves protobuf-es service descriptors. Every service added is listed
 * by server reflection and reported by the standard `grpc.health.v1.Health` service.
 */
export class RpcServer {
  readonly server: grpc.Server;
  #interceptors: Interceptor[];
  #health = new HealthImplementation({ "": "NOT_SERVING" });
  #services: DescService[] = [];
  #shutdown = new AbortController();
  #port: number | undefined;

  constructor(options: RpcServerOptions = {}) {
    const { maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, interceptors = [] } = options;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0) {
      throw new RangeError(`Cannot create server: invalid maxMessageBytes ${maxMessageBytes}`);
    }
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": maxMessageBytes,
      "grpc.max_send_message_length": maxMessageBytes,
    });
    this.#interceptors = interceptors;
    this.#health.addToServer(this.server);
  }

  /** Serves `service` with `impl`. Call before {@linkcode listen}. */
  add<S extends DescService>(service: S, impl: ServiceImpl<S>, options: AddServiceOptions = {}) {
    if (this.#port !== undefined) {
      throw new Error(`Cannot add service "${service.typeName}": the server is already listening`);
    }
    const handlers: Record<string, grpc.UntypedHandleCall> = {};
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const method of service.methods) {
      const fn = (impl as Record<string, AnyHandler | undefined>)[method.localName];
      definition[method.localName] = methodDefinition(method);
      handlers[method.localName] = this.#adapt(method, fn, options.errorMapper);
    }
    this.server.addService(definition as grpc.ServiceDefinition, handlers);
    this.#services.push(service);
    this.#health.setStatus(service.typeName, "NOT_SERVING");
  }

  /** Binds `host:port` (port 0 picks a free one), starts reflection and reports SERVING. */
  async listen(host = "127.0.0.1", port = 0): Promise<number> {
    // Health is served by grpc-health-check; list it too so tools can discover it.
    const listed = [...this.#services, Health];
    new ReflectionService(reflectionPackage(listed)).addToServer(this.server);
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(new Error(`Cannot listen on ${address}: ${err.message}`, { cause: err }));
        else resolve(bound);
      });
    });
    this.setServing(true);
    return this.#port;
  }

  /** Reports SERVING or NOT_SERVING for the server and each service. */
  setServing(serving: boolean): void {
    const status = serving ? "SERVING" : "NOT_SERVING";
    this.#health.setStatus("", status);
    for (const service of this.#services) this.#health.setStatus(service.typeName, status);
  }

  /**
   * Stops accepting calls and waits up to `graceMs` for in-flight calls; then cancels the rest
   * (their handlers see `ctx.signal` abort) and closes every connection.
   */
  async shutdown(graceMs = 5000): Promise<void> {
    this.setServing(false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceful = new Promise<boolean>((resolve) => {
      this.server.tryShutdown(() => resolve(true));
    });
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const clean = await Promise.race([graceful, timeout]);
    clearTimeout(timer);
    if (!clean) {
      this.#shutdown.abort(new DOMException("Server shutting down", "AbortError"));
      this.server.forceShutdown();
    }
  }

  #adapt(method: DescMethod, fn: AnyHandler | undefined, mapper?: ErrorMapper) {
    const path = methodPath(method);
    const kind = method.methodKind;
    const interceptors = this.#interceptors;
    const shutdownSignal = this.#shutdown.signal;
    const output = method.output;

    // Runs one call: builds its context, runs the interceptor chain around `inner`, and
    // hands the final RpcError (if any) to `fail`.
    function run(
      call: ServerCall,
      inner: (ctx: HandlerContext) => Promise<void>,
      fail: (err: RpcError) => void,
    ): void {
      const { ctx, dispose } = makeContext(call, path, shutdownSignal);
      const innerNext: Next = async (info) => {
        if (fn === undefined) {
          throw new RpcError(Code.UNIMPLEMENTED, `Method "${path}" is not implemented`);
        }
        try {
          await inner(info.ctx);
        } catch (err) {
          throw toRpcError(err, mapper);
        }
      };
      chain(interceptors, innerNext)({ path, kind, ctx })
        .catch((err) => fail(toRpcError(err, mapper)))
        .finally(dispose);
    }

    switch (kind) {
      case "unary":
        return (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          run(call, async (ctx) => {
            const req = decoded(call.request, method.input);
            const res = await (fn as (r: unknown, c: HandlerContext) => unknown)(req, ctx);
            cb(null, toMessage(output, res));
          }, (err) => cb(toStatus(err)));
        };
      case "server_streaming":
        return (call: grpc.ServerWritableStream<unknown, unknown>) => {
          run(call, async (ctx) => {
            const req = decoded(call.request, method.input);
            const responses = (fn as (r: unknown, c: HandlerContext) => AsyncIterable<unknown>)(
              req,
              ctx,
            );
            await writeAll(call, output, responses, ctx.signal);
            call.end();
          }, (err) => call.emit("error", toStatus(err)));
        };
      case "client_streaming":
        return (
          call: grpc.ServerReadableStream<unknown, unknown>,
          cb: grpc.sendUnaryData<unknown>,
        ) => {
          run(call, async (ctx) => {
            const fnc = fn as (r: AsyncIterable<unknown>, c: HandlerContext) => Promise<unknown>;
            const res = await fnc(readAll(call, method.input), ctx);
            cb(null, toMessage(output, res));
          }, (err) => cb(toStatus(err)));
        };
      case "bidi_streaming":
        return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
          run(call, async (ctx) => {
            const fnb = fn as (
              r: AsyncIterable<unknown>,
              c: HandlerContext,
            ) => AsyncIterable<unknown>;
            await writeAll(call, output, fnb(readAll(call, method.input), ctx), ctx.signal);
            call.end();
          }, (err) => call.emit("error", toStatus(err)));
        };
    }
  }
}

function makeContext(call: ServerCall, path: string, shutdown: AbortSignal) {
  const controller = new AbortController();
  const onCancel = () => {
    if (!controller.signal.aborted) {
      controller.abort(new DOMException(`Call "${path}" cancelled`, "AbortError"));
    }
  };
  const events = call as unknown as NodeJS.EventEmitter;
  events.on("cancelled", onCancel);
  const onShutdown = () => controller.abort(shutdown.reason);
  shutdown.addEventListener("abort", onShutdown, { once: true });

  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (Number.isFinite(deadlineMs)) {
    const left = Math.max(0, deadlineMs - Date.now());
    timer = setTimeout(() => {
      if (!controller.signal.aborted) {
        controller.abort(new DOMException(`Deadline of "${path}" exceeded`, "TimeoutError"));
      }
    }, left);
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(call.metadata.getMap())) {
    metadata[key] = typeof value === "string"
      ? value
      : btoa(String.fromCharCode(...(value as Uint8Array)));
  }
  const ctx: HandlerContext = {
    signal: controller.signal,
    timeoutMs: () => Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : undefined,
    metadata,
    path,
    peer: call.getPeer(),
  };
  function dispose(): void {
    clearTimeout(timer);
    events.removeListener("cancelled", onCancel);
    shutdown.removeEventListener("abort", onShutdown);
  }
  return { ctx, dispose };
}

function decoded(request: unknown, schema: DescMessage): unknown {
  if (request instanceof DecodeFailure) {
    const reason = request.error instanceof Error ? request.error.message : String(request.error);
    throw new RpcError(
      Code.INVALID_ARGUMENT,
      `Cannot decode request as "${schema.typeName}": ${reason}`,
    );
  }
  return request;
}

function toMessage(schema: DescMessage, value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    throw new TypeError(`Handler returned ${value} instead of a "${schema.typeName}"`);
  }
  // deno-lint-ignore no-explicit-any
  return create(schema, value as any);
}

function toStatus(err: RpcError): Partial<grpc.StatusObject> {
  return { code: err.code as number as grpc.status, details: err.message };
}

async function writeAll(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  schema: DescMessage,
  responses: AsyncIterable<unknown>,
  signal: AbortSignal,
): Promise<void> {
  // Each write resolves once grpc-js has handed the message to the HTTP/2 stream; writes are
  // processed in order, so awaiting the last one flushes all (a status sent before that
  // would overtake queued messages).
  let lastWrite: Promise<void> = Promise.resolve();
  try {
    for await (const res of responses) {
      signal.throwIfAborted();
      const message = toMessage(schema, res);
      let flushed = true;
      lastWrite = new Promise<void>((resolve, reject) => {
        flushed = call.write(
          message,
          (err: Error | null | undefined) => err ? reject(err) : resolve(),
        );
      });
      if (!flushed) await once(call, "drain", { signal });
    }
  } finally {
    await lastWrite.catch(() => {});
  }
}

async function* readAll(
  call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  schema: DescMessage,
): AsyncGenerator<unknown> {
  for await (const req of readableMessages(call)) yield decoded(req, schema);
}
