/**
 * The batch KV cache of a cohort: one slot per request, each `[H, C, D]` per layer with the
 * request's tokens at positions 0..length-1 (right padding) and a per-slot bias row (0 on its
 * tokens, -1e9 on padding). Decode steps append in place: the graph reads the cache as it is and
 * returns only the new keys and values, which are written at each slot's length. Slots stay
 * dense: a leaving request's slot takes the last slot's row (one row copied), a joining request
 * is written into a new last slot; the capacity C grows in chunks and shrinks when rows are
 * short again, the only copies of the whole cache.
 */
import { MASKED } from "@parlmt/model";

/** One request's cache outside a batch: interleaved keys and values per layer, `[H, length, D]`. */
export interface RowCache {
  readonly length: number;
  readonly kv: readonly Float32Array[];
}

/** Positions added to C at a time. */
const CHUNK = 32;

/** Dense slots of right-padded caches, appended in place. */
export class SlotCache {
  readonly H: number;
  readonly D: number;
  /** Interleaved keys and values per layer. */
  readonly tensors: number;
  /** Tokens cached per slot; the batch size is its length. */
  readonly lengths: number[] = [];
  #cap = 0;
  #C = 0;
  #kv: Float32Array[];
  #bias = new Float32Array(0);

  constructor(nLayer: number, H: number, D: number) {
    this.H = H;
    this.D = D;
    this.tensors = 2 * nLayer;
    this.#kv = Array.from({ length: this.tensors }, () => new Float32Array(0));
  }

  /** Slots in use (the batch size of a step). */
  get size(): number {
    return this.lengths.length;
  }

  /** Positions per slot (the cache length C of a step). */
  get capacity(): number {
    return this.#C;
  }

  /** Views of the used slots: caches `[B, H, C, D]` and the bias `[B, C]`. */
  views(): { past: Float32Array[]; bias: Float32Array } {
    const B = this.size;
    const n = B * this.H * this.#C * this.D;
    return {
      past: this.#kv.map((t) => t.subarray(0, n)),
      bias: this.#bias.subarray(0, B * this.#C),
    };
  }

  /** Adds `row` as the last slot; returns its index. */
  add(row: RowCache): number {
    const b = this.size;
    this.#fit(b + 1, Math.max(this.#C, row.length + 1));
    const { H, D } = this;
    const C = this.#C;
    const L = row.length;
    this.#kv.forEach((dst, i) => {
      const src = row.kv[i]!;
      for (let h = 0; h < H; h++) {
        dst.set(src.subarray(h * L * D, (h + 1) * L * D), (b * H + h) * C * D);
      }
    });
    this.#bias.fill(0, b * C, b * C + L);
    this.#bias.fill(MASKED, b * C + L, (b + 1) * C);
    this.lengths.push(L);
    return b;
  }

  /**
   * Frees slot `b`: the last slot's row moves into it (slots stay dense). Returns the index the
   * moved row came from, or -1 when `b` was the last slot.
   */
  remove(b: number): number {
    const last = this.size - 1;
    if (b < 0 || b > last) throw new RangeError(`Cannot remove slot ${b} of ${this.size}`);
    const L = this.lengths.pop()!;
    if (b === last) return -1;
    this.lengths[b] = L;
    const { H, D } = this;
    const C = this.#C;
    for (const t of this.#kv) {
      for (let h = 0; h < H; h++) {
        const from = (last * H + h) * C * D;
        t.copyWithin((b * H + h) * C * D, from, from + L * D);
      }
    }
    this.#bias.copyWithin(b * C, last * C, (last + 1) * C);
    return last;
  }

  /** A copy of slot `b` without padding. */
  extract(b: number): RowCache {
    const { H, D } = this;
    const C = this.#C;
    const L = this.lengths[b]!;
    const kv = this.#kv.map((t) => {
      const out = new Float32Array(H * L * D);
      for (let h = 0; h < H; h++) {
        const from = (b * H + h) * C * D;
        out.set(t.subarray(from, from + L * D), h * L * D);
      }
      return out;
    });
    return { length: L, kv };
  }

  /** Makes room for `S` more tokens in every slot (and trims a capacity far beyond need). */
  reserve(S: number): void {
    const need = Math.max(0, ...this.lengths) + S;
    if (need > this.#C || this.#C - need >= 2 * CHUNK) this.#fit(this.size, need);
  }

  /** Writes new keys and values `[B, H, S, D]` (interleaved per layer) after each slot's tokens. */
  append(fresh: readonly Float32Array[], S: number): void {
    const { H, D } = this;
    const C = this.#C;
    const B = this.size;
    const lengths = this.lengths;
    const n = S * D;
    for (let i = 0; i < this.tensors; i++) {
      const dst = this.#kv[i]!;
      const src = fresh[i]!;
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        for (let h = 0; h < H; h++) {
          // A plain loop: for a few dozen floats it beats subarray() + set().
          const from = (b * H + h) * n;
          const to = ((b * H + h) * C + L) * D;
          for (let j = 0; j < n; j++) dst[to + j] = src[from + j]!;
        }
      }
    }
    const bias = this.#bias;
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      for (let j = b * C + L; j < b * C + L + S; j++) bias[j] = 0;
      lengths[b] = L + S;
    }
  }

  /** Ensures room for `slots` slots of at least `positions` positions (C in whole chunks). */
  #fit(slots: number, positions: number): void {
    const C = Math.max(CHUNK, Math.ceil(positions / CHUNK) * CHUNK);
    if (C === this.#C && slots <= this.#cap) return;
    const grow = C !== this.#C;
    // Slots grow geometrically; a change of C reallocates at the current size.
    const cap = slots <= this.#cap && !grow
      ? this.#cap
      : Math.max(slots, grow ? this.#cap : 2 * this.#cap, 4);
    const { H, D } = this;
    const oldC = this.#C;
    const B = this.size;
    this.#kv = this.#kv.map((src) => {
      const dst = new Float32Array(cap * H * C * D);
      if (!grow) dst.set(src.subarray(0, B * H * C * D));
      else {
        for (let r = 0; r < B * H; r++) {
          const L = Math.min(this.lengths[Math.floor(r / H)]!, C);
          dst.set(src.subarray(r * oldC * D, (r * oldC + L) * D), r * C * D);
        }
      }
      return dst;
    });
    const bias = new Float32Array(cap * C).fill(MASKED);
    for (let b = 0; b < B; b++) bias.fill(0, b * C, b * C + this.lengths[b]!);
    this.#bias = bias;
    this.#cap = cap;
    this.#C = C;
  }
}
