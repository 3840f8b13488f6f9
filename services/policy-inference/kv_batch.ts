/**
 * Per-request KV caches packed into one left-padded batch cache and back. A request owns its
 * cache (`[1, H, L, D]` per layer); while the batch's membership is unchanged the packed cache
 * is reused step after step, and it is repacked only when a request joins or leaves.
 */

/** One request's cache: interleaved keys and values per layer, each `[H, length, D]`. */
export interface RowCache {
  readonly length: number;
  readonly kv: readonly Float32Array[];
}

/** A left-padded batch cache: `kv[i]` is `[B, H, P, D]`; row b's real tokens are its last `lengths[b]`. */
export interface BatchCache {
  P: number;
  readonly lengths: number[];
  kv: Float32Array[];
}

/** Packs row caches into one batch cache (P = the longest row). */
export function packRows(rows: readonly RowCache[], H: number, D: number): BatchCache {
  const B = rows.length;
  const P = Math.max(0, ...rows.map((r) => r.length));
  const n = rows[0]?.kv.length ?? 0;
  const kv: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const out = new Float32Array(B * H * P * D);
    rows.forEach((r, b) => {
      const L = r.length;
      const src = r.kv[i]!;
      for (let h = 0; h < H; h++) {
        out.set(src.subarray(h * L * D, (h + 1) * L * D), ((b * H + h) * P + (P - L)) * D);
      }
    });
    kv.push(out);
  }
  return { P, lengths: rows.map((r) => r.length), kv };
}

/** Copies row `b` out of a batch cache, without its padding. */
export function unpackRow(batch: BatchCache, b: number, H: number, D: number): RowCache {
  const { P } = batch;
  const L = batch.lengths[b]!;
  const kv = batch.kv.map((src) => {
    const out = new Float32Array(H * L * D);
    for (let h = 0; h < H; h++) {
      const from = ((b * H + h) * P + (P - L)) * D;
      out.set(src.subarray(from, from + L * D), h * L * D);
    }
    return out;
  });
  return { length: L, kv };
}

/** The attention mask `[B, P+1]` of a decode step over `batch` (0 on padding). */
export function stepMask(batch: BatchCache): BigInt64Array {
  const { P, lengths } = batch;
  const mask = new BigInt64Array(lengths.length * (P + 1));
  lengths.forEach((L, b) => mask.fill(1n, b * (P + 1) + (P - L), (b + 1) * (P + 1)));
  return mask;
}

/**
 * A new batch cache from slots `keep` of `batch` (copied directly, without their padding) and
 * then the rows `extra`; P becomes the longest row.
 */
export function repackBatch(
  batch: BatchCache,
  keep: readonly number[],
  extra: readonly RowCache[],
  H: number,
  D: number,
): BatchCache {
  const lengths = [...keep.map((b) => batch.lengths[b]!), ...extra.map((r) => r.length)];
  const B = lengths.length;
  const P = Math.max(0, ...lengths);
  const kv = batch.kv.map((src, i) => {
    const out = new Float32Array(B * H * P * D);
    keep.forEach((b, nb) => {
      const L = batch.lengths[b]!;
      for (let h = 0; h < H; h++) {
        const from = ((b * H + h) * batch.P + (batch.P - L)) * D;
        out.set(src.subarray(from, from + L * D), ((nb * H + h) * P + (P - L)) * D);
      }
    });
    extra.forEach((r, k) => {
      const nb = keep.length + k;
      const L = r.length;
      for (let h = 0; h < H; h++) {
        out.set(r.kv[i]!.subarray(h * L * D, (h + 1) * L * D), ((nb * H + h) * P + (P - L)) * D);
      }
    });
    return out;
  });
  return { P, lengths, kv };
}

/** Writes `row` (length ≤ P) into free slot `b` of `batch`, left-padded. */
export function writeRow(batch: BatchCache, b: number, row: RowCache, H: number, D: number): void {
  const { P } = batch;
  const L = row.length;
  if (L > P) throw new RangeError(`Cannot write a row of ${L} positions into a batch of ${P}`);
  batch.kv.forEach((dst, i) => {
    for (let h = 0; h < H; h++) {
      dst.set(row.kv[i]!.subarray(h * L * D, (h + 1) * L * D), ((b * H + h) * P + (P - L)) * D);
    }
  });
  batch.lengths[b] = L;
}
