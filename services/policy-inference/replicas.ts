/**
 * Data-parallel decoding: N engine threads (each a ServingCore with its own sessions, scheduler
 * and share of the batch), one EngineBackend to the request side.
 *
 * A batch-32 decode step is a chain of small GEMMs that two onnxruntime threads speed up by
 * far less than 2x; two sessions of one thread each, on 16 rows apiece, keep both cores busy.
 * Requests go to the replica with the fewest requests in flight (counted here, exactly). A
 * weights update is applied to every replica at once and resolves when all have swapped: the
 * verification and canary are deterministic, so a blob one replica refuses, all refuse. Should
 * a replica fail where another succeeded (a resource error), the update is reported as failed
 * naming the replicas, and they serve different versions until the next update; every token
 * still carries the version that produced it.
 * @module
 */
import { EngineThread } from "./engine_thread.ts";
import type { EngineInfo, GenerateJob, GenerationResult } from "./generation.ts";
import type { CoreOptions, EngineBackend } from "./serving_core.ts";

/** N engine backends behind one. */
export class EngineReplicas implements EngineBackend {
  readonly replicas: readonly EngineBackend[];
  #inFlight: number[];
  #onStep?: () => void;

  constructor(replicas: readonly EngineBackend[]) {
    if (replicas.length === 0) throw new RangeError("Cannot serve with 0 engine replicas");
    this.replicas = replicas;
    this.#inFlight = replicas.map(() => 0);
  }

  /**
   * Starts `n` engine threads, splitting `maxBatch` and `maxQueue` between them (each gets at
   * least 1), so the server's batch and queue bounds stay what the config says.
   */
  static async start(n: number, options: CoreOptions): Promise<EngineReplicas> {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cannot start ${n} engine replicas: expected a positive integer`);
    }
    const share = (total: number, i: number) =>
      Math.max(1, Math.floor(total / n) + (i < total % n ? 1 : 0));
    const started: EngineBackend[] = [];
    try {
      for (let i = 0; i < n; i++) {
        started.push(
          await EngineThread.start({
            ...options,
            maxBatch: share(options.maxBatch, i),
            maxQueue: share(options.maxQueue, i),
          }),
        );
      }
    } catch (err) {
      await Promise.allSettled(started.map((r) => r.close()));
      throw err;
    }
    return new EngineReplicas(started);
  }

  /** The engine of the first replica (all load the same weights and apply the same updates). */
  get current(): EngineInfo | null {
    return this.replicas[0]!.current;
  }
  get queueDepth(): number {
    return this.replicas.reduce((a, r) => a + r.queueDepth, 0);
  }
  get activeRequests(): number {
    return this.replicas.reduce((a, r) => a + r.activeRequests, 0);
  }
  get tokensGenerated(): number {
    return this.replicas.reduce((a, r) => a + r.tokensGenerated, 0);
  }
  get onStep(): (() => void) | undefined {
    return this.#onStep;
  }
  set onStep(f: (() => void) | undefined) {
    this.#onStep = f;
    for (const r of this.replicas) r.onStep = f;
  }

  /** Requests in flight on each replica (submitted here and not yet settled). */
  get inFlight(): readonly number[] {
    return [...this.#inFlight];
  }

  async submit(job: GenerateJob): Promise<GenerationResult> {
    let best = 0;
    for (let i = 1; i < this.#inFlight.length; i++) {
      if (this.#inFlight[i]! < this.#inFlight[best]!) best = i;
    }
    this.#inFlight[best]!++;
    try {
      return await this.replicas[best]!.submit(job);
    } finally {
      this.#inFlight[best]!--;
    }
  }

  async apply(
    version: bigint,
    bytes: Uint8Array,
    meta: Readonly<Record<string, string>>,
  ): Promise<string> {
    const outcomes = await Promise.allSettled(
      this.replicas.map((r) => r.apply(version, bytes, meta)),
    );
    const failed = outcomes.flatMap((o, i) =>
      o.status === "rejected" ? [{ i, err: o.reason }] : []
    );
    if (failed.length === 0) return (outcomes[0] as PromiseFulfilledResult<string>).value;
    const first = failed[0]!.err as Error;
    if (failed.length === outcomes.length) throw first;
    throw new Error(
      `Weights v${version} swapped on some engine replicas but not on ${
        failed.map((f) => f.i).join(", ")
      }: ${first.name}: ${first.message}`,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }
}
