/** Typed clients of protobuf-es services over grpc-js, with deadlines, cancellation and auth. */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { installHttp2GoawayWorkaround } from "./http2_goaway_workaround.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./serve.ts";
import { readableMessages } from "./readable_messages.ts";
import { Code, RpcError } from "./rpc_error.ts";
import { DecodeFailure, methodDefinition } from "./service_definition.ts";
import type { CallOptions, Client } from "./types.ts";

installHttp2GoawayWorkaround();

/** Options of {@linkcode createClient}. */
export interface ClientOptions {
  /** Deadline of a call when the call gives none. @default {30000} */
  timeoutMs?: number;
  /** Largest message sent or accepted, in bytes. @default {16 MiB} */
  maxMessageBytes?: number;
  /** Sent as `authorization: Bearer <token>` on every call. */
  authToken?: string;
}

/** A client plus the means to close its channel. */
export type ClientHandle<S extends DescService> = Client<S> & {
  /** Closes the underlying channel. */
  close(): void;
};

/** Creates a typed client of `service` at `address` (`host:port`). */
export function createClient<S extends DescService>(
  service: S,
  address: string,
  options: ClientOptions = {},
): ClientHandle<S> {
  const { timeoutMs = 30_000, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, authToken } = options;
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Cannot create client: invalid timeoutMs ${timeoutMs}`);
  }
  const channel = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
  });
  const client: Record<string, unknown> = {
    close: () => channel.close(),
  };
  for (const method of service.methods) {
    client[method.localName] = makeMethod(channel, method, timeoutMs, authToken);
  }
  return client as ClientHandle<S>;
}

function makeMethod(
  channel: grpc.Client,
  method: DescMethod,
  defaultTimeoutMs: number,
  authToken: string | undefined,
) {
  const def = methodDefinition(method);
  const ser = def.requestSerialize;
  const de = def.responseDeserialize;
  const setup = (opts: CallOptions = {}) => {
    opts.signal?.throwIfAborted();
    const metadata = new grpc.Metadata();
    if (authToken !== undefined) metadata.set("authorization", `Bearer ${authToken}`);
    for (const [k, v] of Object.entries(opts.metadata ?? {})) metadata.set(k, v);
    const deadline = Date.now() + (opts.timeoutMs ?? defaultTimeoutMs);
    return { metadata, callOptions: { deadline } as grpc.CallOptions, signal: opts.signal };
  };

  switch (method.methodKind) {
    case "unary":
      return (req: unknown, opts?: CallOptions) => {
        const { metadata, callOptions, signal } = setup(opts);
        return new Promise((resolve, reject) => {
          const call = channel.makeUnaryRequest(
            def.path,
            ser,
            de,
            req,
            metadata,
            callOptions,
            (err, res) => {
              signal?.removeEventListener("abort", onAbort);
              if (err) reject(fromServiceError(err));
              else if (res instanceof DecodeFailure) reject(decodeError(method));
              else resolve(res);
            },
          );
          const onAbort = () => call.cancel();
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      };
    case "server_streaming":
      return (req: unknown, opts?: CallOptions) => {
        const { metadata, callOptions, signal } = setup(opts);
        const call = channel.makeServerStreamRequest(def.path, ser, de, req, metadata, callOptions);
        return readStream(call, method, signal);
      };
    case "client_streaming":
      return async (reqs: AsyncIterable<unknown>, opts?: CallOptions) => {
        const { metadata, callOptions, signal } = setup(opts);
        let call: grpc.ClientWritableStream<unknown> | undefined;
        const result = new Promise((resolve, reject) => {
          call = channel.makeClientStreamRequest(
            def.path,
            ser,
            de,
            metadata,
            callOptions,
            (err, res) => {
              if (err) reject(fromServiceError(err));
              else if (res instanceof DecodeFailure) reject(decodeError(method));
              else resolve(res);
            },
          );
        });
        const onAbort = () => call!.cancel();
        signal?.addEventListener("abort", onAbort, { once: true });
        try {
          await writeStream(call!, reqs);
          return await result;
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
      };
    case "bidi_streaming":
      return (reqs: AsyncIterable<unknown>, opts?: CallOptions) => {
        const { metadata, callOptions, signal } = setup(opts);
        const call = channel.makeBidiStreamRequest(def.path, ser, de, metadata, callOptions);
        writeStream(call, reqs).catch(() => call.cancel());
        return readStream(call, method, signal);
      };
  }
}

async function* readStream(
  call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  method: DescMethod,
  signal: AbortSignal | undefined,
): AsyncGenerator<unknown> {
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  let done = false;
  try {
    for await (const res of readableMessages(call)) {
      if (res instanceof DecodeFailure) throw decodeError(method);
      yield res;
    }
    done = true;
  } catch (err) {
    throw err instanceof RpcError ? err : fromServiceError(err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!done) {
      // The caller stopped early: cancel, and swallow the CANCELLED error that follows.
      call.on("error", () => {});
      call.cancel();
    }
  }
}

async function writeStream(
  call: grpc.ClientWritableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  reqs: AsyncIterable<unknown>,
): Promise<void> {
  for await (const req of reqs) {
    if (!call.write(req)) await new Promise((resolve) => call.once("drain", resolve));
  }
  call.end();
}

function decodeError(method: DescMethod): RpcError {
  return new RpcError(Code.INTERNAL, `Cannot decode response as "${method.output.typeName}"`);
}

/** Converts a grpc-js ServiceError (or anything a call rejects with) to an RpcError. */
export function fromServiceError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as Partial<grpc.ServiceError>;
  const code = typeof e.code === "number" ? e.code : Code.UNKNOWN;
  const message = e.details ?? e.message ?? String(err);
  return new RpcError(code as Code, message, { cause: err });
}
