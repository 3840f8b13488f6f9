/**
 * Continuous batching: concurrent requests share decode steps. A request joins after its
 * prompt is prefilled and leaves as soon as it stops; each keeps its own KV cache, packed into
 * a left-padded batch cache that is reused while membership is unchanged. The queue is
 * bounded (QueueFullError when full), and a cancelled request frees its slot at once.
 *
 * Weights: `install(engine)` swaps the served engine between two decode steps. A request that
 * follows the newest version continues on the new weights (its KV cache, computed by the old
 * ones, is kept) and every token records the version that produced it; a request pinned to a
 * version decodes on that version only, as long as it is retained.
 */
import { setImmediate } from "node:timers";
import type { Prng } from "@parlmt/model";
import type { Constraint } from "./constrained.ts";
import type { Engine, EngineShape } from "./engine.ts";
import { DrainingError, NoWeightsError, QueueFullError, VersionConflictError } from "./errors.ts";
import {
  type BatchCache,
  packRows,
  repackBatch,
  type RowCache,
  stepMask,
  unpackRow,
  writeRow,
} from "./kv_batch.ts";
import { sampleToken, type SamplingOptions, seededRng } from "./sampler.ts";

/** Text side of a model: decoding generated ids (for text and stop strings). */
export interface TextCodec {
  decode(ids: readonly number[]): string;
}

/** Tokens decoded since the previous delta of a request. */
export interface TokenDelta {
  readonly tokenIds: number[];
  readonly logprobs: number[];
  readonly versions: bigint[];
  readonly textDelta: string;
}

/** One generation request, validated. */
export interface GenerateJob {
  readonly promptIds: readonly number[];
  readonly sampling: SamplingOptions;
  readonly seed: bigint;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** 0 = follow the newest version; else decode only with this version. */
  readonly pinVersion: bigint;
  readonly constraint?: Constraint;
  readonly signal?: AbortSignal;
  readonly onDelta?: (delta: TokenDelta) => void;
}

/** Why a generation stopped. */
export type FinishReason = "stop" | "length" | "cancelled";

/** A finished generation. */
export interface GenerationResult {
  readonly promptIds: readonly number[];
  readonly tokenIds: number[];
  readonly logprobs: number[];
  readonly tokenVersions: bigint[];
  readonly text: string;
  readonly finishReason: FinishReason;
}

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
}

interface Row {
  readonly job: GenerateJob;
  engine: Engine;
  readonly rng: Prng;
  readonly tokens: number[];
  readonly logprobs: number[];
  readonly versions: bigint[];
  /** The row's own cache while it is outside a cohort. */
  cache: RowCache | null;
  /** Positions in the cache (prompt + generated - the one not yet fed). */
  length: number;
  next: number;
  text: string;
  /** Tokens and characters of text already sent as deltas. */
  sent: number;
  textSent: number;
  done: boolean;
  readonly resolve: (r: GenerationResult) => void;
  readonly reject: (err: unknown) => void;
}

/** Joiners that trigger a prefill at once while the batch is busy. */
const ADMIT_GROUP = 4;
/** Steps a joiner waits at most for others to share its prefill. */
const ADMIT_WAIT_STEPS = 4;

interface Queued {
  readonly job: GenerateJob;
  readonly queuedAtStep: number;
  readonly resolve: (r: GenerationResult) => void;
  readonly reject: (err: unknown) => void;
  cancelled: boolean;
}

interface Cohort {
  engine: Engine;
  /** Slots; null = free (dead until reused or compacted). */
  rows: (Row | null)[];
  batch: BatchCache;
  /** Steps in a row with a dead slot. */
  deadSteps: number;
}

function sameShape(a: EngineShape, b: EngineShape): boolean {
  return a.nLayer === b.nLayer && a.nKvHead === b.nKvHead && a.headDim === b.headDim &&
    a.vocabSize === b.vocabSize && a.maxPositions === b.maxPositions;
}

/** Batches generation requests over the current engine. */
export class Scheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  /** Tokens generated since start. */
  tokensGenerated = 0;
  /** Decode steps run (batched steps and prefills). */
  steps = 0;
  /** Called after every scheduling iteration (metrics). */
  onStep?: () => void;
  #retain: number;
  #codec?: TextCodec;
  #eos: Set<number>;
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

  constructor(opts: SchedulerOptions = {}) {
    const { maxBatch = 32, maxQueue = 256, retainVersions = 1, codec, eosIds = [] } = opts;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`Cannot create scheduler: maxBatch ${maxBatch}`);
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(`Cannot create scheduler: maxQueue ${maxQueue}`);
    }
    this.maxBatch = maxBatch;
    this.maxQueue = maxQueue;
    this.#retain = retainVersions;
    this.#codec = codec;
    this.#eos = new Set(eosIds);
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
    return this.#active.filter((r) => !r.done).length;
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
    const q: Queued = { job, queuedAtStep: this.steps, resolve, reject, cancelled: false };
    if (job.signal?.aborted) {
      resolve(cancelled(job));
      return promise;
    }
    job.signal?.addEventListener("abort", () => {
      // Frees the queue slot at once; an active row is dropped at the next step boundary.
      const i = this.#queue.indexOf(q);
      if (i >= 0) this.#queue.splice(i, 1);
      q.cancelled = true;
      const row = this.#active.find((r) => r.job === job);
      if (row && !row.done) this.#finish(row, "cancelled");
      else if (i >= 0) resolve(cancelled(job));
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
    while (this.#queue.length > 0 || this.#active.length > 0) {
      this.#applyPending();
      this.#active = this.#active.filter((r) => !r.done);
      await this.#admit();
      await this.#step();
      await this.#disposeUnused();
      this.onStep?.();
      // Let I/O (new requests, cancellations, swaps) in between steps; setImmediate runs
      // after pending I/O callbacks, without the timer clamp of setTimeout.
      await new Promise((r) => setImmediate(r));
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
      const row: Row = {
        job: q.job,
        engine,
        rng: seededRng(q.job.seed),
        tokens: [],
        logprobs: [],
        versions: [],
        cache: null,
        length: 0,
        next: -1,
        text: "",
        sent: 0,
        textSent: 0,
        done: false,
        resolve: q.resolve,
        reject: q.reject,
      };
      const list = joiners.get(engine) ?? [];
      list.push({ q, row });
      joiners.set(engine, list);
      free--;
    }
    for (const [engine, list] of joiners) await this.#prefill(engine, list);
  }

  /** One left-padded forward over the prompts of `list`; each row keeps its own cache. */
  async #prefill(engine: Engine, list: { q: Queued; row: Row }[]): Promise<void> {
    const B = list.length;
    const S = Math.max(...list.map((j) => j.row.job.promptIds.length));
    const ids = new BigInt64Array(B * S);
    const pos = new BigInt64Array(B * S);
    const mask = new BigInt64Array(B * S);
    list.forEach(({ row }, b) => {
      const p = row.job.promptIds;
      const pad = S - p.length;
      for (let t = 0; t < p.length; t++) {
        ids[b * S + pad + t] = BigInt(p[t]!);
        pos[b * S + pad + t] = BigInt(t);
        mask[b * S + pad + t] = 1n;
      }
    });
    const past = Array.from({ length: 2 * engine.shape.nLayer }, () => new Float32Array(0));
    let res;
    try {
      res = await engine.forward(B, 1 * S, 0, ids, pos, mask, past);
    } catch (err) {
      for (const { q } of list) q.reject(err);
      return;
    }
    this.steps++;
    const { nKvHead: H, headDim: D, vocabSize: V } = engine.shape;
    const batch: BatchCache = {
      P: S,
      lengths: list.map((j) => j.row.job.promptIds.length),
      kv: res.present,
    };
    list.forEach(({ q, row }, b) => {
      row.cache = B === 1 ? { length: S, kv: res.present } : unpackRow(batch, b, H, D);
      row.length = row.cache.length;
      this.#active.push(row);
      this.#joining.push(row);
      if (q.cancelled) this.#finish(row, "cancelled");
      else this.#emit(row, res.logits, (b * S + S - 1) * V, engine);
    });
  }

  /**
   * One decode step of every cohort. Membership changes cost little: a finished row frees its
   * slot (a dead slot attends only to itself until reused or compacted), a joiner is written
   * into a free slot when it fits, and a cohort is repacked (one copy of the live rows) only
   * when it must grow, keeps dead slots nobody waits for, or carries dead padding.
   */
  async #step(): Promise<void> {
    const cur = this.#current!;
    const loose: Row[] = this.#joining.splice(0).filter((r) => !r.done);
    for (const c of this.#cohorts) {
      c.rows.forEach((r, b) => {
        if (r?.done) {
          c.rows[b] = null;
          c.batch.lengths[b] = 0;
        }
      });
      if (c.engine === cur) continue;
      const live = c.rows.filter((r): r is Row => r !== null);
      const follow = live.filter((r) =>
        r.job.pinVersion === 0n && sameShape(r.engine.shape, cur.shape)
      );
      if (follow.length === live.length) {
        // The whole cohort follows the newest weights: swap the engine, keep the cache.
        c.engine = cur;
        for (const r of live) r.engine = cur;
      } else {
        const { nKvHead: H, headDim: D } = c.engine.shape;
        c.rows.forEach((r, b) => {
          if (r && follow.includes(r)) {
            r.cache = unpackRow(c.batch, b, H, D);
            r.engine = cur;
            c.rows[b] = null;
            c.batch.lengths[b] = 0;
            loose.push(r);
          }
        });
      }
    }
    let cohorts = this.#cohorts.filter((c) => c.rows.some((r) => r !== null));
    // One cohort per engine: a second one (after a swap) joins the first.
    const byEngine = new Map<Engine, Cohort>();
    for (const c of cohorts) {
      const first = byEngine.get(c.engine);
      if (!first) {
        byEngine.set(c.engine, c);
        continue;
      }
      const { nKvHead: H, headDim: D } = c.engine.shape;
      c.rows.forEach((r, b) => {
        if (r) {
          r.cache = unpackRow(c.batch, b, H, D);
          loose.push(r);
        }
      });
    }
    cohorts = [...byEngine.values()];
    for (const r of loose) {
      const { nKvHead: H, headDim: D } = r.engine.shape;
      let c = byEngine.get(r.engine);
      if (!c) {
        c = { engine: r.engine, rows: [r], batch: packRows([r.cache!], H, D), deadSteps: 0 };
        byEngine.set(r.engine, c);
        cohorts.push(c);
      } else {
        const slot = c.rows.indexOf(null);
        if (slot >= 0 && r.cache!.length <= c.batch.P) {
          writeRow(c.batch, slot, r.cache!, H, D);
          c.rows[slot] = r;
        } else {
          const keep = c.rows.flatMap((x, b) => (x ? [b] : []));
          c.batch = repackBatch(c.batch, keep, [r.cache!], H, D);
          c.rows = [...keep.map((b) => c!.rows[b]!), r];
          c.deadSteps = 0;
        }
      }
      r.cache = null;
    }
    for (const c of cohorts) {
      const dead = c.rows.filter((r) => r === null).length;
      c.deadSteps = dead > 0 ? c.deadSteps + 1 : 0;
      const longest = Math.max(0, ...c.batch.lengths);
      // Dead slots are refilled by joiners in steady load; compact when they linger or
      // nobody is waiting, and trim a long dead padding.
      const waiting = this.#queue.length > 0;
      if (
        (dead > 0 && (c.deadSteps >= 16 || (!waiting && dead * 4 >= c.rows.length))) ||
        c.batch.P - longest >= 16
      ) {
        const { nKvHead: H, headDim: D } = c.engine.shape;
        const keep = c.rows.flatMap((x, b) => (x ? [b] : []));
        c.batch = repackBatch(c.batch, keep, [], H, D);
        c.rows = keep.map((b) => c.rows[b]!);
        c.deadSteps = 0;
      }
    }
    this.#cohorts = cohorts;
    for (const c of cohorts) await this.#stepCohort(c);
  }

  async #stepCohort(c: Cohort): Promise<void> {
    const { engine, rows, batch } = c;
    const B = rows.length;
    const ids = BigInt64Array.from(rows, (r) => BigInt(r ? r.next : 0));
    const pos = BigInt64Array.from(batch.lengths, (L) => BigInt(L));
    let res;
    try {
      res = await engine.forward(B, 1, batch.P, ids, pos, stepMask(batch), batch.kv);
    } catch (err) {
      for (const r of rows) {
        if (r && !r.done) {
          r.done = true;
          r.reject(err);
        }
      }
      return;
    }
    this.steps++;
    batch.P++;
    batch.kv = res.present;
    const V = engine.shape.vocabSize;
    rows.forEach((r, b) => {
      if (!r) return; // a dead slot stays at length 0
      batch.lengths[b]!++;
      r.length++;
      if (!r.done) this.#emit(r, res.logits, b * V, engine);
    });
  }

  /** Samples the next token of `row` from logits at `off` and checks the stop conditions. */
  #emit(row: Row, logits: Float32Array, off: number, engine: Engine): void {
    const { job } = row;
    const V = engine.shape.vocabSize;
    let s;
    try {
      s = sampleToken(logits, off, V, job.sampling, row.rng, job.constraint?.allowed());
    } catch (err) {
      row.done = true;
      row.reject(err);
      return;
    }
    row.tokens.push(s.token);
    row.logprobs.push(s.logprob);
    row.versions.push(engine.version);
    this.tokensGenerated++;
    job.constraint?.advance(s.token);
    let reason: FinishReason | null = null;
    const eos = this.#eos.has(s.token);
    if (eos) reason = "stop";
    else if (this.#codec && (job.stop.length > 0 || job.onDelta)) {
      // Text is decoded every step only when stop strings or a stream need it.
      const before = row.text.length;
      row.text = this.#codec.decode(row.tokens);
      for (const stop of job.stop) {
        const at = row.text.indexOf(stop, Math.max(0, before - stop.length));
        if (at >= 0) {
          row.text = row.text.slice(0, at);
          reason = "stop";
        }
      }
    }
    if (!reason && this.#eos.size === 0 && job.constraint?.done()) reason = "stop";
    if (!reason && row.tokens.length >= job.maxTokens) reason = "length";
    if (!reason && row.length + 1 > engine.shape.maxPositions) reason = "length";
    row.next = s.token;
    if (reason) this.#finish(row, reason);
    else this.#sendDelta(row, false);
  }

  #sendDelta(row: Row, final: boolean): void {
    const cb = row.job.onDelta;
    if (!cb) return;
    let textDelta = "";
    // Hold back a partial UTF-8 character until its last byte arrives.
    if (final || !row.text.endsWith("\uFFFD")) {
      textDelta = row.text.slice(row.textSent);
      row.textSent = row.text.length;
    }
    cb({
      tokenIds: row.tokens.slice(row.sent),
      logprobs: row.logprobs.slice(row.sent),
      versions: row.versions.slice(row.sent),
      textDelta,
    });
    row.sent = row.tokens.length;
  }

  #finish(row: Row, reason: FinishReason): void {
    if (row.done) return;
    row.done = true;
    const { job } = row;
    if (this.#codec && job.stop.length === 0 && !job.onDelta) {
      const n = row.tokens.length;
      row.text = this.#codec.decode(
        this.#eos.has(row.tokens[n - 1]!) ? row.tokens.slice(0, -1) : row.tokens,
      );
    }
    this.#sendDelta(row, true);
    row.resolve({
      promptIds: row.job.promptIds,
      tokenIds: row.tokens,
      logprobs: row.logprobs,
      tokenVersions: row.versions,
      text: row.text,
      finishReason: reason,
    });
  }
}

function cancelled(job: GenerateJob): GenerationResult {
  return {
    promptIds: job.promptIds,
    tokenIds: [],
    logprobs: [],
    tokenVersions: [],
    text: "",
    finishReason: "cancelled",
  };
}
