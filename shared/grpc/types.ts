/** Handler and client types derived from protobuf-es service descriptors. */
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** What a handler knows about its call. */
export interface HandlerContext {
  /** Fires on deadline, client cancellation or server shutdown. Pass it downstream. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the deadline, or undefined when the call has none. */
  timeoutMs(): number | undefined;
  /** Request metadata (header names lower-case; the last value of repeated headers). */
  readonly metadata: Readonly<Record<string, string>>;
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The caller's address. */
  readonly peer: string;
}

type Methods<S extends DescService> = S extends { method: infer M } ? M : never;
type In<M> = M extends { input: infer I extends DescMessage } ? I : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? O : never;
type Awaitable<T> = T | Promise<T>;

/** A handler for one method, by kind: unary and client-streaming return one response,
 * server-streaming and bidi return an async iterable. Responses may be init objects. */
export type Handler<M> = M extends { methodKind: "unary" }
  ? (req: MessageShape<In<M>>, ctx: HandlerContext) => Awaitable<MessageInitShape<Out<M>>>
  : M extends { methodKind: "server_streaming" } ? (
      req: MessageShape<In<M>>,
      ctx: HandlerContext,
    ) => AsyncIterable<MessageInitShape<Out<M>>>
  : M extends { methodKind: "client_streaming" } ? (
      reqs: AsyncIterable<MessageShape<In<M>>>,
      ctx: HandlerContext,
    ) => Promise<MessageInitShape<Out<M>>>
  : M extends { methodKind: "bidi_streaming" } ? (
      reqs: AsyncIterable<MessageShape<In<M>>>,
      ctx: HandlerContext,
    ) => AsyncIterable<MessageInitShape<Out<M>>>
  : never;

/** An implementation of a service: one handler per method (by local name). */
export type ServiceImpl<S extends DescService> = {
  [K in keyof Methods<S>]: Handler<Methods<S>[K]>;
};

/** Per-call client options. */
export interface CallOptions {
  /** Deadline relative to now. @default {the client's defaultTimeoutMs} */
  timeoutMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
}

/** A client method, by kind. Rejects (or throws while iterating) with an RpcError. */
export type ClientMethod<M> = M extends { methodKind: "unary" }
  ? (req: MessageInitShape<In<M>>, options?: CallOptions) => Promise<MessageShape<Out<M>>>
  : M extends { methodKind: "server_streaming" } ? (
      req: MessageInitShape<In<M>>,
      options?: CallOptions,
    ) => AsyncIterable<MessageShape<Out<M>>>
  : M extends { methodKind: "client_streaming" } ? (
      reqs: AsyncIterable<MessageInitShape<In<M>>>,
      options?: CallOptions,
    ) => Promise<MessageShape<Out<M>>>
  : M extends { methodKind: "bidi_streaming" } ? (
      reqs: AsyncIterable<MessageInitShape<In<M>>>,
      options?: CallOptions,
    ) => AsyncIterable<MessageShape<Out<M>>>
  : never;

/** A typed client of a service. */
export type Client<S extends DescService> = {
  [K in keyof Methods<S>]: ClientMethod<Methods<S>[K]>;
};
