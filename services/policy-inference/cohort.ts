/**
 * Batched decoding on one engine: a cohort's rows share each decode step over one slot cache,
 * and joiners are prefilled together (right-padded prompts, one step of S tokens).
 */
import type { Engine, StepResult } from "./engine.ts";
import { SlotCache } from "./kv_slots.ts";
import type { LoopProfile } from "./profile.ts";
import type { Row, RowOutput } from "./row.ts";

/** Prefills `rows` (no cache yet) in one step; sets their caches and lengths. */
export async function prefill(
  engine: Engine,
  rows: readonly Row[],
  prof?: LoopProfile,
): Promise<StepResult> {
  const { nLayer, nKvHead: H, headDim: D } = engine.shape;
  const B = rows.length;
  const S = Math.max(...rows.map((r) => r.job.promptIds.length));
  const ids = new BigInt64Array(B * S);
  const positions = new BigInt64Array(B * S);
  rows.forEach((row, b) => {
    const p = row.job.promptIds;
    for (let t = 0; t < S; t++) {
      // Right padding: a prompt's tokens never attend to the padding after them.
      if (t < p.length) ids[b * S + t] = BigInt(p[t]!);
      positions[b * S + t] = BigInt(t);
    }
  });
  const t0 = prof ? performance.now() : 0;
  const res = await engine.step({
    B,
    S,
    C: 0,
    ids,
    positions,
    pastBias: new Float32Array(0),
    past: Array.from({ length: 2 * nLayer }, () => new Float32Array(0)),
  });
  if (prof) {
    prof.prefillOrtMs += performance.now() - t0;
    prof.prefillRuns++;
    prof.prefillRows += B;
  }
  rows.forEach((row, b) => {
    const L = row.job.promptIds.length;
    const kv = B === 1 && L === S ? res.fresh : res.fresh.map((src) => {
      const out = new Float32Array(H * L * D);
      for (let h = 0; h < H; h++) {
        const from = (b * H + h) * S * D;
        out.set(src.subarray(from, from + L * D), h * L * D);
      }
      return out;
    });
    row.cache = { length: L, kv };
    row.length = L;
  });
  return res;
}

/** Rows decoding together on one engine, in the slots of one cache. */
export class Cohort {
  engine: Engine;
  /** The row of each slot. */
  readonly rows: Row[] = [];
  readonly cache: SlotCache;
  #ids = new BigInt64Array(0);
  #positions = new BigInt64Array(0);

  constructor(engine: Engine) {
    this.engine = engine;
    const { nLayer, nKvHead, headDim } = engine.shape;
    this.cache = new SlotCache(nLayer, nKvHead, headDim);
  }

  /** Adds a row that holds its own cache (from a prefill or another cohort). */
  join(row: Row): void {
    this.cache.add(row.cache!);
    row.cache = null;
    this.rows.push(row);
  }

  /** Frees the slots of finished rows. */
  dropDone(): void {
    for (let b = this.rows.length - 1; b >= 0; b--) if (this.rows[b]!.done) this.#removeAt(b);
  }

  /** Takes `row` out, with a copy of its cache. */
  take(row: Row): void {
    const b = this.rows.indexOf(row);
    row.cache = this.cache.extract(b);
    this.#removeAt(b);
  }

  #removeAt(b: number): void {
    const last = this.rows.pop()!;
    if (this.cache.remove(b) >= 0) this.rows[b] = last;
  }

  /** One decode step of every row; a failed step rejects the rows. */
  async step(out: RowOutput, prof?: LoopProfile): Promise<void> {
    const { engine, rows, cache } = this;
    const B = rows.length;
    if (B === 0) return;
    const tp = prof ? performance.now() : 0;
    cache.reserve(1);
    if (this.#ids.length < B) {
      this.#ids = new BigInt64Array(2 * B);
      this.#positions = new BigInt64Array(2 * B);
    }
    // Views of buffers kept across steps (the run reads them before it resolves).
    const ids = this.#ids.subarray(0, B);
    const positions = this.#positions.subarray(0, B);
    const lengths = cache.lengths;
    for (let b = 0; b < B; b++) {
      ids[b] = BigInt(rows[b]!.next);
      positions[b] = BigInt(lengths[b]!);
    }
    const { past, bias } = cache.views();
    let res;
    const t0 = prof ? performance.now() : 0;
    if (prof) prof.preMs += t0 - tp;
    try {
      res = await engine.step({ B, S: 1, C: cache.capacity, ids, positions, pastBias: bias, past });
      if (prof) {
        prof.decodeOrtMs += performance.now() - t0;
        prof.decodeRuns++;
        prof.decodeRows += B;
      }
    } catch (err) {
      for (const r of rows) {
        if (!r.done) {
          r.done = true;
          r.reject(err);
        }
      }
      return;
    }
    const ta = prof ? performance.now() : 0;
    cache.append(res.fresh, 1);
    const tb = prof ? performance.now() : 0;
    const V = engine.shape.vocabSize;
    const lse = res.logsumexp;
    for (let b = 0; b < B; b++) {
      const r = rows[b]!;
      r.length++;
      if (!r.done) out.emit(r, res.logits, b * V, engine, lse?.[b]);
    }
    if (prof) {
      prof.appendMs += tb - ta;
      prof.emitMs += performance.now() - tb;
    }
  }
}
