/** Domain errors of policy-inference that callers handle, and their one mapping to gRPC codes. */
import { Code, RpcError } from "@parlmt/grpc";

/** A request field is malformed or out of bounds; the message names the field. */
export class InvalidRequestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidRequestError";
  }
}

/** The bounded queue is full (back-pressure: retry with backoff). */
export class QueueFullError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueFullError";
  }
}

/** The requested model id is not served. */
export class ModelNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelNotFoundError";
  }
}

/** No weights are loaded yet. */
export class NoWeightsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoWeightsError";
  }
}

/** A pinned weights version is not (or no longer) available. */
export class VersionConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VersionConflictError";
  }
}

/** The external OpenAI-compatible server failed or is unreachable. */
export class UpstreamError extends Error {
  /** HTTP status of the upstream answer (0 when it did not answer). */
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "UpstreamError";
    this.status = status;
  }
}

/** The service is shutting down. */
export class DrainingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DrainingError";
  }
}

/** Maps the domain errors to gRPC status codes; unknown errors are left to the glue (INTERNAL). */
export function toRpcError(err: unknown): RpcError | undefined {
  if (err instanceof InvalidRequestError) return new RpcError(Code.INVALID_ARGUMENT, err.message);
  if (err instanceof QueueFullError) return new RpcError(Code.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof ModelNotFoundError) return new RpcError(Code.NOT_FOUND, err.message);
  if (err instanceof NoWeightsError) return new RpcError(Code.FAILED_PRECONDITION, err.message);
  if (err instanceof VersionConflictError) return new RpcError(Code.ABORTED, err.message);
  if (err instanceof DrainingError) return new RpcError(Code.UNAVAILABLE, err.message);
  if (err instanceof UpstreamError) {
    const code = err.status === 400 || err.status === 422
      ? Code.INVALID_ARGUMENT
      : err.status === 404
      ? Code.NOT_FOUND
      : err.status === 429
      ? Code.RESOURCE_EXHAUSTED
      : err.status === 401 || err.status === 403
      ? Code.PERMISSION_DENIED
      : Code.UNAVAILABLE;
    return new RpcError(code, err.message);
  }
  return undefined;
}
