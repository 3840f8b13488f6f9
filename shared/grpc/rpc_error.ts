/** The one error type that crosses the wire: a gRPC status code and a message. */

/** The 17 gRPC status codes (same numbers as the gRPC spec and grpc-js `status`). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code. */
export type Code = typeof Code[keyof typeof Code];

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code).map(([name, code]) => [code, name]),
);

/** The name of a status code, e.g. `"NOT_FOUND"`. */
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `CODE_${code}`;
}

/** An error with a gRPC status code; the message is sent to the caller, the cause is not. */
export class RpcError extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RpcError";
    this.code = code;
  }
}

/** Maps an error thrown by a handler to an {@linkcode RpcError}; services pass their own. */
export type ErrorMapper = (err: unknown) => RpcError | undefined;

/**
 * Normalises anything thrown into an RpcError: a service's mapper first, then RpcError as is,
 * aborts and timeouts as CANCELLED / DEADLINE_EXCEEDED, and everything else as INTERNAL with a
 * generic message (the cause is kept for the log, never sent).
 */
export function toRpcError(err: unknown, mapper?: ErrorMapper): RpcError {
  const mapped = mapper?.(err);
  if (mapped) return mapped;
  if (err instanceof RpcError) return err;
  if (err instanceof DOMException || err instanceof Error) {
    if (err.name === "TimeoutError") {
      return new RpcError(Code.DEADLINE_EXCEEDED, "Deadline exceeded", { cause: err });
    }
    if (err.name === "AbortError") {
      return new RpcError(Code.CANCELLED, "Call cancelled", { cause: err });
    }
  }
  return new RpcError(Code.INTERNAL, "Internal error", { cause: err });
}
