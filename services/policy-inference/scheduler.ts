/**
 * Continuous batching: concurrent requests share decode steps. A request joins after its
 * prompt is prefilled and leaves as soon as it stops; a cohort's rows sit in the slots of one
 * cache that decode steps append to in place (kv_slots.ts), so joining or leaving copies one
 * row. The queue is bounded (QueueFullError when full), and a cancelled request frees its slot
 * at once.
 *
 * Weights: `install(engine)` swaps the served engine between two decode steps. A request that
 * follows the newest version continues on the new weights (its KV cache, computed by the old
 * ones, is kept) and every token records the version that produced it; a request pinned to a
 * version decodes on that version only, as long as it is retained.
 */
import { setImmediate } from "node:timers";
import { Cohort, prefill } from "./cohort.ts";
import type { Engine, EngineShape } from "./engine.ts";
import { DrainingError, NoWeightsError, QueueFullError, VersionConflictError } from "./errors.ts";
import {
  cancelledResult,
  type GenerateJob,
  type GenerationResult,
  type TextCodec,
} from "./generation.ts";
import { LoopProfile, PROFILE_ON } from "./profile.ts";
import { newRow, type Row, RowOutput } from "./row.ts";

export type {
  FinishReason,
  GenerateJob,
  GenerationResult,
  TextCodec,
  TokenDelta,
} from "./generation.ts";

/** Options of the Scheduler. */
export interface SchedulerOptions {
  /** Requests decoded together. @default 32 */
  readonly maxBatch?: number;
  /** Requests waiting beyond the batch; more are refused. @default 256 */
  readonly maxQueue?: number;
  /** Engines kept after being replaced, for pinned requests. @default 1 */
  readonly retainVersions?: number;
  readonly codec?: TextCodec;
  /** Ids that end a generation (included in its tokens, not in its text). */
  readonly eosIds?: readonly number[];
  /**
   * Event-loop turns given to I/O after each decode step (see IO_TURNS); a scheduler on a
   * worker thread, whose only I/O is messages, needs one or two. @default 16
   */
  readonly ioTurns?: number;
}

/**
 * Event-loop turns given to I/O after each decode step. onnxruntime-node runs a session
 * synchronously (from a setImmediate of its own), so back-to-back steps leave the loop one turn
 * per step, and a gRPC request needs many turns between its socket and the handler: at 32
 * concurrent clients a request waited ~45 ms (p50, ~20 steps) from its client's send to
 * submit() and the batch held ~20 of 32 rows. With 16 turns the wait is ~5 ms and the batch
 * ~28 rows; an idle turn costs ~1.5 µs (measured on a 2-core VM), so ~25 µs per step.
 */
const IO_TURNS = 16;

/**
 * Lets I/O (new requests, responses, cancellations, swaps) in for `turns` event-loop turns;
 * setImmediate runs after pending I/O callbacks, without the timer clamp of setTimeout.
 */
async function yieldToIo(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Joiners that trigger a prefill at once while the batch is busy. */
const ADMIT_GROUP = 4;
/** Steps a joiner waits at most for others to share its prefill. */
const ADMIT_WAIT_STEPS = 4;

interface Queued {
  readonly job: GenerateJob;
  readonly queuedAtStep: number;
  /** performance.now() at submit (read by the profile). */
  readonly queuedAt: number;
  readonly resolve: (r: GenerationResult) => void;
  readonly reject: (err: unknown) => void;
  cancelled: boolean;
}

function sameShape(a: EngineShape, b: EngineShape): boolean {
  return a.nLayer === b.nLayer && a.nKvHead === b.nKvHead && a.headDim === b.headDim &&
    a.vocabSize === b.vocabSize && a.maxPositions === b.maxPositions;
}

/** Batches generation requests over the current engine. */
export class Scheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  /** Decode steps run (batched steps and prefills). */
  steps = 0;
  /** Called after every scheduling iteration (metrics). */
  onStep?: () => void;
  #retain: number;
  #out: RowOutput;
  #queue: Queued[] = [];
  #active: Row[] = [];
  #cohorts: Cohort[] = [];
  /** Prefilled rows that have not joined a cohort yet. */
  #joining: Row[] = [];
  #current: Engine | null = null;
  #retired: Engine[] = [];
  #pending: { engine: Engine; installed: () => void }[] = [];
  #loop: Promise<void> | null = null;
  #closed = false;
  #prof: LoopProfile | undefined;
  #ioTurns: number;

  constructor(opts: SchedulerOptions = {}) {
    const { maxBatch = 32, maxQueue = 256, retainVersions = 1, codec, eosIds = [] } = opts;
    this.#ioTurns = opts.ioTurns ?? IO_TURNS;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`Cannot create scheduler: maxBatch ${maxBatch}`);
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(`Cannot create scheduler: maxQueue ${maxQueue}`);
    }
    this.maxBatch = maxBatch;
    this.maxQueue = maxQueue;
    this.#retain = retainVersions;
    this.#out = new RowOutput(codec, eosIds);
  }

  /** Tokens generated since start. */
  get tokensGenerated(): number {
    return this.#out.tokensGenerated;
  }

  /** The engine new requests start on (null before the first install). */
  get current(): Engine | null {
    return this.#pending.at(-1)?.engine ?? this.#current;
  }

  /** Requests waiting for a slot. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Requests being decoded. */
  get activeRequests(): number {
    let n = 0;
    for (const r of this.#active) if (!r.done) n++;
    return n;
  }

  /** Installs `engine` between two decode steps; resolves once it serves. */
  install(engine: Engine): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#pending.push({ engine, installed: resolve });
    if (!this.#loop) this.#applyPending();
    return promise;
  }

  /** Queues a request; rejects with QueueFullError when the queue is full. */
  submit(job: GenerateJob): Promise<GenerationResult> {
    if (this.#closed) return Promise.reject(new DrainingError("Cannot generate: server draining"));
    if (!this.current) {
      return Promise.reject(new NoWeightsError("Cannot generate: no weights are loaded yet"));
    }
    const busy = this.#active.length >= this.maxBatch;
    if (busy && this.#queue.length >= this.maxQueue) {
      return Promise.reject(
        new QueueFullError(
          `Cannot queue request: ${this.#queue.length} requests waiting (maxQueue ${this.maxQueue})`,
        ),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<GenerationResult>();
    const q: Queued = {
      job,
      queuedAtStep: this.steps,
      queuedAt: PROFILE_ON ? performance.now() : 0,
      resolve,
      reject,
      cancelled: false,
    };
    if (job.signal?.aborted) {
      resolve(cancelledResult(job));
      return promise;
    }
    job.signal?.addEventListener("abort", () => {
      // Frees the queue slot at once; an active row is dropped at the next step boundary.
      const i = this.#queue.indexOf(q);
      if (i >= 0) this.#queue.splice(i, 1);
      q.cancelled = true;
      const row = this.#active.find((r) => r.job === job);
      if (row && !row.done) this.#out.finish(row, "cancelled");
      else if (i >= 0) resolve(cancelledResult(job));
    }, { once: true });
    this.#queue.push(q);
    this.#loop ??= this.#run().finally(() => (this.#loop = null));
    return promise;
  }

  /** Refuses new requests and waits for the queued and active ones to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loop;
    this.#applyPending();
    for (const e of new Set([this.#current, ...this.#retired])) await e?.dispose();
    this.#current = null;
    this.#retired = [];
  }

  async #run(): Promise<void> {
    const prof = PROFILE_ON ? new LoopProfile() : undefined;
    this.#prof = prof;
    const tokens0 = this.tokensGenerated;
    while (this.#queue.length > 0 || this.#active.length > 0) {
      const t0 = prof ? performance.now() : 0;
      const steps0 = this.steps;
      this.#applyPending();
      this.#active = this.#active.filter((r) => !r.done);
      await this.#admit();
      const t1 = prof ? performance.now() : 0;
      await this.#step();
      const t2 = prof ? performance.now() : 0;
      await this.#disposeUnused();
      this.onStep?.();
      const t3 = prof ? performance.now() : 0;
      await yieldToIo(this.steps === steps0 ? 1 : this.#ioTurns);
      if (prof) {
        const t4 = performance.now();
        prof.admitMs += t1 - t0;
        prof.decodeJsMs += t2 - t1;
        prof.otherMs += t3 - t2;
        prof.yieldMs += t4 - t3;
      }
    }
    if (prof) {
      prof.tokens = this.tokensGenerated - tokens0;
      prof.decodeJsMs -= prof.decodeOrtMs;
      prof.admitMs -= prof.prefillOrtMs;
      prof.prefillJsMs = 0;
      console.error(prof.summary());
    }
    this.#cohorts = [];
    this.#joining = [];
  }

  #applyPending(): void {
    for (const p of this.#pending.splice(0)) {
      if (this.#current) this.#retired.push(this.#current);
      this.#current = p.engine;
      p.installed();
    }
  }

  async #disposeUnused(): Promise<void> {
    if (this.#retired.length === 0) return;
    const used = new Set(this.#active.filter((r) => !r.done).map((r) => r.engine));
    const keep = this.#retired.slice(-this.#retain);
    const stay: Engine[] = [];
    for (const e of this.#retired) {
      if (used.has(e) || keep.includes(e)) stay.push(e);
      else await e.dispose();
    }
    this.#retired = stay;
  }

  #engineFor(job: GenerateJob): Engine {
    const cur = this.#current!;
    if (job.pinVersion === 0n || job.pinVersion === cur.version) return cur;
    const e = this.#retired.find((x) => x.version === job.pinVersion);
    if (!e) {
      throw new VersionConflictError(
        `Cannot pin weights version ${job.pinVersion}: serving ${cur.version}`,
      );
    }
    return e;
  }

  /** Takes queued requests into free slots, prefilling each engine's joiners in one batch. */
  async #admit(): Promise<void> {
    // Coalesce prefills: while the batch is busy, let a few joiners gather (at most a few
    // steps) so they share one prefill call instead of one call each.
    const busy = this.#active.length >= this.maxBatch / 2;
    const oldest = this.#queue[0]?.queuedAtStep ?? this.steps;
    if (busy && this.#queue.length < ADMIT_GROUP && this.steps - oldest < ADMIT_WAIT_STEPS) return;
    const joiners = new Map<Engine, { q: Queued; row: Row }[]>();
    let free = this.maxBatch - this.#active.length;
    while (free > 0 && this.#queue.length > 0) {
      const q = this.#queue.shift()!;
      if (q.cancelled) continue;
      let engine: Engine;
      try {
        engine = this.#engineFor(q.job);
      } catch (err) {
        q.reject(err);
        continue;
      }
      const prof = this.#prof;
      if (prof) {
        prof.admitted++;
        prof.queueWaitMs += performance.now() - q.queuedAt;
      }
      const resolve = prof
        ? (r: GenerationResult) => {
          prof.finished++;
          prof.latencyMs += performance.now() - q.queuedAt;
          q.resolve(r);
        }
        : q.resolve;
      const row = newRow(q.job, engine, resolve, q.reject);
      const list = joiners.get(engine) ?? [];
      list.push({ q, row });
      joiners.set(engine, list);
      free--;
    }
    for (const [engine, list] of joiners) await this.#prefill(engine, list);
  }

  /** One step over the prompts of `list`; each row keeps its own cache until it joins. */
  async #prefill(engine: Engine, list: { q: Queued; row: Row }[]): Promise<void> {
    let res;
    try {
      res = await prefill(engine, list.map((j) => j.row), this.#prof);
    } catch (err) {
      for (const { q } of list) q.reject(err);
      return;
    }
    this.steps++;
    const { vocabSize: V } = engine.shape;
    const S = res.logits.length / (list.length * V);
    list.forEach(({ q, row }, b) => {
      this.#active.push(row);
      this.#joining.push(row);
      const at = b * S + row.length - 1;
      if (q.cancelled) this.#out.finish(row, "cancelled");
      else this.#out.emit(row, res.logits, at * V, engine, res.logsumexp?.[at]);
    });
  }

  /**
   * One decode step of every cohort, after membership changes: finished rows free their slots,
   * rows that follow the newest weights move to its cohort (or the whole cohort switches), and
   * joiners take new slots.
   */
  async #step(): Promise<void> {
    const cur = this.#current!;
    const loose: Row[] = this.#joining.splice(0).filter((r) => !r.done);
    const byEngine = new Map<Engine, Cohort>();
    for (const c of this.#cohorts) {
      c.dropDone();
      if (c.engine !== cur) {
        const follow = c.rows.filter((r) =>
          r.job.pinVersion === 0n && sameShape(r.engine.shape, cur.shape)
        );
        if (follow.length === c.rows.length) {
          // The whole cohort follows the newest weights: swap the engine, keep the cache.
          c.engine = cur;
          for (const r of c.rows) r.engine = cur;
        } else {
          for (const r of follow) {
            c.take(r);
            r.engine = cur;
            loose.push(r);
          }
        }
      }
      if (c.rows.length === 0) continue;
      // One cohort per engine: a second one (after a swap) joins the first.
      if (!byEngine.has(c.engine)) byEngine.set(c.engine, c);
      else {
        for (const r of [...c.rows]) {
          c.take(r);
          loose.push(r);
        }
      }
    }
    for (const r of loose) {
      let c = byEngine.get(r.engine);
      if (!c) byEngine.set(r.engine, c = new Cohort(r.engine));
      c.join(r);
    }
    this.#cohorts = [...byEngine.values()];
    for (const c of this.#cohorts) {
      await c.step(this.#out, this.#prof);
      this.steps++;
    }
  }
}
