/**
 * The decoding side on a worker thread. onnxruntime-node runs a session synchronously on the
 * calling thread, so on the main thread nothing else happens during a decode step: gRPC and
 * HTTP requests, responses and cancellations wait for it, and the step waits for them. Here the
 * ServingCore (engine, scheduler, swaps) runs in engine_worker.ts, and the main thread handles
 * requests while a step runs. Jobs, token deltas, results, cancellations and weights blobs
 * cross as messages; errors keep their names, and the domain errors of errors.ts their classes.
 */
import {
  cancelledResult,
  type EngineInfo,
  type GenerateJob,
  type GenerationResult,
  type TokenDelta,
} from "./generation.ts";
import type { CoreOptions, EngineBackend } from "./serving_core.ts";
import {
  DrainingError,
  InvalidRequestError,
  NoWeightsError,
  QueueFullError,
  VersionConflictError,
} from "./errors.ts";
import { TurnFormatConstraint } from "./constrained.ts";

/** A job as posted to the worker (no callbacks, signals or automata). */
export interface JobMessage {
  readonly promptIds: readonly number[];
  readonly sampling: GenerateJob["sampling"];
  readonly seed: bigint;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly pinVersion: bigint;
  /** Rebuilt on the worker as a TurnFormatConstraint over its tokenizer. */
  readonly constraint?: { readonly tools: readonly string[]; readonly endIds: readonly number[] };
  readonly stream: boolean;
}

/** Counters the worker reports. */
export interface StatsMessage {
  readonly queueDepth: number;
  readonly activeRequests: number;
  readonly tokensGenerated: number;
  readonly current: EngineInfo | null;
}

/** Main → worker. */
export type ToWorker =
  | { readonly type: "init"; readonly options: CoreOptions }
  | { readonly type: "submit"; readonly id: number; readonly job: JobMessage }
  | { readonly type: "cancel"; readonly id: number }
  | {
    readonly type: "apply";
    readonly id: number;
    readonly version: bigint;
    readonly bytes: Uint8Array;
    readonly meta: Readonly<Record<string, string>>;
  }
  | { readonly type: "close" };

/** Worker → main. */
export type FromWorker =
  | { readonly type: "ready"; readonly stats: StatsMessage }
  | { readonly type: "delta"; readonly id: number; readonly delta: TokenDelta }
  | { readonly type: "result"; readonly id: number; readonly result: GenerationResult }
  | { readonly type: "applied"; readonly id: number; readonly configJson: string }
  | { readonly type: "error"; readonly id: number; readonly name: string; readonly message: string }
  | { readonly type: "stats"; readonly stats: StatsMessage }
  | { readonly type: "closed" }
  | { readonly type: "fatal"; readonly name: string; readonly message: string };

const DOMAIN_ERRORS: Record<string, new (message: string) => Error> = {
  InvalidRequestError,
  QueueFullError,
  NoWeightsError,
  VersionConflictError,
  DrainingError,
};

/** An error from the worker, as its own class when it is a domain error. */
export function reviveError(name: string, message: string): Error {
  const Cls = DOMAIN_ERRORS[name];
  if (Cls) return new Cls(message);
  const err = new Error(message);
  err.name = name;
  return err;
}

interface Pending {
  readonly resolve: (value: never) => void;
  readonly reject: (err: unknown) => void;
  readonly onDelta?: (delta: TokenDelta) => void;
}

/** The ServingCore on a worker thread, behind the EngineBackend interface. */
export class EngineThread implements EngineBackend {
  onStep?: () => void;
  #worker: Worker;
  #stats: StatsMessage;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #failed: Error | null = null;
  #closed: PromiseWithResolvers<void> | null = null;

  private constructor(worker: Worker, stats: StatsMessage) {
    this.#worker = worker;
    this.#stats = stats;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`Engine thread failed: ${e.message}`));
    };
  }

  /** Starts the worker and loads the core in it; rejects with the load error. */
  static async start(options: CoreOptions): Promise<EngineThread> {
    const worker = new Worker(new URL("./engine_worker.ts", import.meta.url), { type: "module" });
    const ready = await new Promise<FromWorker>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<FromWorker>) => resolve(e.data);
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        reject(new Error(`Engine thread failed to start: ${e.message}`));
      };
      worker.postMessage({ type: "init", options } satisfies ToWorker);
    }).catch((err) => {
      worker.terminate();
      throw err;
    });
    if (ready.type === "fatal") {
      worker.terminate();
      throw reviveError(ready.name, ready.message);
    }
    if (ready.type !== "ready") throw new Error(`Engine thread sent "${ready.type}" first`);
    return new EngineThread(worker, ready.stats);
  }

  get current(): EngineInfo | null {
    return this.#stats.current;
  }
  get queueDepth(): number {
    return this.#stats.queueDepth;
  }
  get activeRequests(): number {
    return this.#stats.activeRequests;
  }
  get tokensGenerated(): number {
    return this.#stats.tokensGenerated;
  }

  submit(job: GenerateJob): Promise<GenerationResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new DrainingError("Cannot generate: server draining"));
    let constraint: JobMessage["constraint"];
    if (job.constraint) {
      if (!(job.constraint instanceof TurnFormatConstraint)) {
        return Promise.reject(
          new TypeError("Cannot post a constraint other than the turn format to the engine thread"),
        );
      }
      constraint = { tools: job.constraint.tools, endIds: job.constraint.endIds };
    }
    const { promise, resolve, reject } = Promise.withResolvers<GenerationResult>();
    if (job.signal?.aborted) {
      resolve(cancelledResult(job));
      return promise;
    }
    const id = this.#nextId++;
    this.#pending.set(id, { resolve: resolve as (v: never) => void, reject, onDelta: job.onDelta });
    const message: JobMessage = {
      promptIds: job.promptIds,
      sampling: job.sampling,
      seed: job.seed,
      maxTokens: job.maxTokens,
      stop: job.stop,
      pinVersion: job.pinVersion,
      constraint,
      stream: job.onDelta !== undefined,
    };
    this.#post({ type: "submit", id, job: message });
    job.signal?.addEventListener("abort", () => {
      if (this.#pending.has(id)) this.#post({ type: "cancel", id });
    }, { once: true });
    return promise;
  }

  apply(version: bigint, bytes: Uint8Array, meta: Readonly<Record<string, string>>) {
    if (this.#failed) return Promise.reject(this.#failed);
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    const id = this.#nextId++;
    this.#pending.set(id, { resolve: resolve as (v: never) => void, reject });
    // Copied, not transferred: the caller still reads the update after it is applied.
    this.#post({ type: "apply", id, version, bytes, meta });
    return promise;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = Promise.withResolvers<void>();
      if (this.#failed) this.#closed.resolve();
      else this.#post({ type: "close" });
    }
    await this.#closed.promise;
    this.#worker.terminate();
  }

  #post(msg: ToWorker): void {
    this.#worker.postMessage(msg);
  }

  #receive(msg: FromWorker): void {
    switch (msg.type) {
      case "delta":
        this.#pending.get(msg.id)?.onDelta?.(msg.delta);
        return;
      case "result": {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        p?.resolve(msg.result as never);
        return;
      }
      case "applied": {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        p?.resolve(msg.configJson as never);
        return;
      }
      case "error": {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        p?.reject(reviveError(msg.name, msg.message));
        return;
      }
      case "stats":
        this.#stats = msg.stats;
        this.onStep?.();
        return;
      case "closed":
        this.#closed?.resolve();
        return;
      case "fatal":
        this.#fail(reviveError(msg.name, msg.message));
        return;
      case "ready":
        return;
    }
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#closed?.resolve();
  }
}
