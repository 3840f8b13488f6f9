import assert from "node:assert/strict";
import { MASKED } from "@parlmt/model";
import { type RowCache, SlotCache } from "./kv_slots.ts";

const H = 2;
const D = 3;

function row(length: number, seed: number): RowCache {
  const kv = [0, 1].map((i) =>
    Float32Array.from({ length: H * length * D }, (_, k) => seed * 1000 + i * 100 + k)
  );
  return { length, kv };
}

Deno.test("SlotCache adds, extracts and removes rows; slots stay dense", () => {
  const cache = new SlotCache(1, H, D);
  const rows = [row(2, 1), row(5, 2), row(1, 3)];
  rows.forEach((r, b) => assert.equal(cache.add(r), b));
  assert.equal(cache.size, 3);
  assert.equal(cache.capacity, 32);
  rows.forEach((r, b) => assert.deepEqual(cache.extract(b), r));
  const { bias } = cache.views();
  assert.deepEqual([bias[32], bias[36], bias[37]], [0, 0, MASKED]);
  // Removing slot 0 moves the last row (slot 2) into it.
  assert.equal(cache.remove(0), 2);
  assert.deepEqual(cache.extract(0), rows[2]);
  assert.deepEqual(cache.extract(1), rows[1]);
  assert.equal(cache.remove(1), -1);
  assert.equal(cache.size, 1);
  assert.throws(() => cache.remove(3), RangeError);
});

Deno.test("SlotCache appends new keys and values in place and grows its capacity", () => {
  const cache = new SlotCache(1, H, D);
  cache.add(row(31, 1));
  cache.add(row(2, 2));
  cache.reserve(1);
  assert.equal(cache.capacity, 32);
  const fresh = [0, 1].map((i) =>
    Float32Array.from({ length: 2 * H * D }, (_, k) => -(i * 50 + k))
  );
  cache.append(fresh, 1);
  assert.deepEqual(cache.lengths, [32, 3]);
  cache.reserve(1);
  assert.equal(cache.capacity, 64);
  const r1 = cache.extract(1);
  // Row 1 = its two tokens then the appended one, per head.
  for (let h = 0; h < H; h++) {
    assert.deepEqual(
      Array.from(r1.kv[1]!.subarray((h * 3 + 2) * D, (h * 3 + 3) * D)),
      Array.from(fresh[1]!.subarray((1 * H + h) * D, (1 * H + h + 1) * D)),
    );
  }
  assert.deepEqual(
    Array.from(r1.kv[0]!.subarray(0, 2 * D)),
    Array.from(row(2, 2).kv[0]!.subarray(0, 2 * D)),
  );
  assert.equal(cache.views().bias[64 + 2], 0);
  assert.equal(cache.views().bias[64 + 3], MASKED);
  // Shrinks once rows are short again.
  cache.add(row(95, 3));
  assert.equal(cache.capacity, 96);
  cache.remove(0);
  cache.remove(0);
  cache.reserve(1);
  assert.equal(cache.capacity, 32);
  assert.deepEqual(cache.extract(0), r1);
});

Deno.test("SlotCache appends several tokens per row after rows of different lengths", () => {
  const cache = new SlotCache(1, H, D);
  const rows = [row(3, 1), row(1, 2)];
  for (const r of rows) cache.add(r);
  const S = 2;
  cache.reserve(S);
  const fresh = [0, 1].map((i) =>
    Float32Array.from({ length: 2 * H * S * D }, (_, k) => -(i * 500 + k + 1))
  );
  cache.append(fresh, S);
  assert.deepEqual(cache.lengths, [5, 3]);
  rows.forEach((r, b) => {
    const got = cache.extract(b);
    const L = r.length;
    for (let i = 0; i < 2; i++) {
      for (let h = 0; h < H; h++) {
        const head = got.kv[i]!.subarray(h * (L + S) * D, (h + 1) * (L + S) * D);
        assert.deepEqual(
          Array.from(head.subarray(0, L * D)),
          Array.from(r.kv[i]!.subarray(h * L * D, (h + 1) * L * D)),
        );
        assert.deepEqual(
          Array.from(head.subarray(L * D)),
          Array.from(fresh[i]!.subarray((b * H + h) * S * D, (b * H + h + 1) * S * D)),
        );
      }
    }
    const { bias } = cache.views();
    const C = cache.capacity;
    assert.deepEqual([bias[b * C + L + S - 1], bias[b * C + L + S]], [0, MASKED]);
  });
});
