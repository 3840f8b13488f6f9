/**
 * One request being decoded: its sampler state and tokens, and what happens to each sampled
 * token (stop conditions, streamed deltas, the final result).
 */
import type { Prng } from "@parlmt/model";
import type { Engine } from "./engine.ts";
import type { FinishReason, GenerateJob, GenerationResult, TextCodec } from "./generation.ts";
import type { RowCache } from "./kv_slots.ts";
import { sampleToken, seededRng } from "./sampler.ts";

/** The decoding state of one request. */
export interface Row {
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

/** A fresh row for `job` on `engine`. */
export function newRow(
  job: GenerateJob,
  engine: Engine,
  resolve: (r: GenerationResult) => void,
  reject: (err: unknown) => void,
): Row {
  return {
    job,
    engine,
    rng: seededRng(job.seed),
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
    resolve,
    reject,
  };
}

/** Turns sampled tokens into results: stop conditions, deltas and finishing. */
export class RowOutput {
  /** Tokens generated since start. */
  tokensGenerated = 0;
  #codec?: TextCodec;
  #eos: Set<number>;

  constructor(codec: TextCodec | undefined, eosIds: readonly number[]) {
    this.#codec = codec;
    this.#eos = new Set(eosIds);
  }

  /**
   * Samples the next token of `row` from logits at `off` (`logZ`: their log-sum-exp, when
   * known) and checks the stop conditions.
   */
  emit(row: Row, logits: Float32Array, off: number, engine: Engine, logZ?: number): void {
    const { job } = row;
    const V = engine.shape.vocabSize;
    let s;
    try {
      s = sampleToken(logits, off, V, job.sampling, row.rng, job.constraint?.allowed(), logZ);
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
    if (reason) this.finish(row, reason);
    else this.#sendDelta(row, false);
  }

  /** Ends `row` with `reason` (idempotent) and resolves its request. */
  finish(row: Row, reason: FinishReason): void {
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
}
