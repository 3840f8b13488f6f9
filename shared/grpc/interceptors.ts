/** Server interceptors: onion layers around a handler call, one concern each. */
import type { Logger, Metrics } from "@parlmt/log";
import { Code, codeName, RpcError } from "./rpc_error.ts";
import type { HandlerContext } from "./types.ts";

/** What an interceptor sees of a call. */
export interface CallInfo {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** `unary`, `server_streaming`, `client_streaming` or `bidi_streaming`. */
  readonly kind: string;
  readonly ctx: HandlerContext;
}

/** Runs the rest of the call to completion; rejects with an RpcError when the call fails. */
export type Next = (call: CallInfo) => Promise<void>;

/** One layer: receives the rest of the chain and returns a new chain. */
export type Interceptor = (next: Next) => Next;

/** Composes interceptors, the first one outermost. */
export function chain(interceptors: readonly Interceptor[], inner: Next): Next {
  return interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), inner);
}

/** Rejects calls without `authorization: Bearer <token>` with UNAUTHENTICATED. */
export function bearerAuth(token: string): Interceptor {
  if (token.length === 0) throw new RangeError("Cannot create bearer auth: the token is empty");
  const expected = `Bearer ${token}`;
  return function authInterceptor(next) {
    return function authenticate(call) {
      const got = call.ctx.metadata["authorization"];
      if (got === undefined) {
        throw new RpcError(Code.UNAUTHENTICATED, `Missing bearer token for "${call.path}"`);
      }
      if (!timingSafeEqual(got, expected)) {
        throw new RpcError(Code.UNAUTHENTICATED, `Invalid bearer token for "${call.path}"`);
      }
      return next(call);
    };
  };
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Logs each call once, at completion, with its code and duration; INTERNAL errors with the cause. */
export function logging(logger: Logger): Interceptor {
  return function loggingInterceptor(next) {
    return async function logCall(call) {
      const start = performance.now();
      try {
        await next(call);
        logger.debug("RPC completed", {
          rpc: call.path,
          code: "OK",
          durationMs: round(performance.now() - start),
        });
      } catch (err) {
        const code = err instanceof RpcError ? err.code : Code.INTERNAL;
        const fields = {
          rpc: call.path,
          code: codeName(code),
          durationMs: round(performance.now() - start),
          peer: call.ctx.peer,
          error: err instanceof Error ? err.message : String(err),
        };
        if (code === Code.INTERNAL) {
          logger.error("RPC failed", { ...fields, cause: (err as Error)?.cause ?? err });
        } else {
          logger.info("RPC failed", fields);
        }
        throw err;
      }
    };
  };
}

/** Counts calls by method and code and observes their duration. */
export function metrics(registry: Metrics): Interceptor {
  return function metricsInterceptor(next) {
    return async function measureCall(call) {
      const start = performance.now();
      let code: number = Code.OK;
      try {
        await next(call);
      } catch (err) {
        code = err instanceof RpcError ? err.code : Code.INTERNAL;
        throw err;
      } finally {
        registry.rpcTotal.inc({ method: call.path, code: codeName(code) });
        registry.rpcDurationMs.observe({ method: call.path }, performance.now() - start);
      }
    };
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
