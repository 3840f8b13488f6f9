import assert from "node:assert/strict";
import { sampleToken, seededRng } from "./sampler.ts";

const LOGITS = Float32Array.of(1, 3, 2, 0.5, 2.9);
const logZ = Math.log([...LOGITS].reduce((a, x) => a + Math.exp(x), 0));

Deno.test("sampleToken() is greedy at temperature 0 and returns the model logprob", () => {
  const s = sampleToken(LOGITS, 0, 5, { temperature: 0, topP: 1, topK: 0 }, seededRng(1n));
  assert.equal(s.token, 1);
  assert.ok(Math.abs(s.logprob - (3 - logZ)) < 1e-6);
  const masked = sampleToken(
    LOGITS,
    0,
    5,
    { temperature: 0, topP: 1, topK: 0 },
    seededRng(1n),
    Uint8Array.of(1, 0, 1, 1, 0),
  );
  assert.equal(masked.token, 2);
  assert.ok(Math.abs(masked.logprob - (2 - logZ)) < 1e-6, "logprob ignores the mask");
});

Deno.test("sampleToken() honours top-k, top-p and the seed", () => {
  const draw = (opts: { temperature: number; topP: number; topK: number }, seed: bigint) => {
    const rng = seededRng(seed);
    return Array.from({ length: 400 }, () => sampleToken(LOGITS, 0, 5, opts, rng).token);
  };
  assert.deepEqual(new Set(draw({ temperature: 1, topP: 1, topK: 2 }, 3n)), new Set([1, 4]));
  // p(1) + p(4) ≈ 0.66 of the mass; top-p 0.5 keeps the top two only.
  assert.deepEqual(new Set(draw({ temperature: 1, topP: 0.5, topK: 0 }, 3n)), new Set([1, 4]));
  const all = draw({ temperature: 1, topP: 1, topK: 0 }, 9n);
  assert.equal(new Set(all).size, 5);
  assert.deepEqual(
    draw({ temperature: 0.7, topP: 0.9, topK: 3 }, 5n),
    draw({ temperature: 0.7, topP: 0.9, topK: 3 }, 5n),
  );
  // The empirical frequency of the top token is close to its probability.
  const f = all.filter((t) => t === 1).length / all.length;
  assert.ok(Math.abs(f - Math.exp(3 - logZ)) < 0.08, `frequency ${f}`);
  assert.throws(
    () =>
      sampleToken(
        LOGITS,
        0,
        5,
        { temperature: 1, topP: 1, topK: 0 },
        seededRng(1n),
        new Uint8Array(5),
      ),
    RangeError,
  );
});
