import assert from "node:assert/strict";
import { modelConfig } from "./config.ts";
import { Prng } from "./prng.ts";
import { type Batch, Trainer, TrainerBuckets } from "./trainer.ts";
import { initWeights } from "./weights.ts";

/** Synthetic next-token task of compute.md: token x is followed by 5x + 3 mod V. */
function affineBatch(rng: Prng, B: number, T: number, V: number): Batch {
  const ids: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    let x = rng.int(V);
    for (let t = 0; t < T; t++) {
      const y = (5 * x + 3) % V;
      ids.push(x);
      targets.push(y);
      x = y;
    }
  }
  return { input_ids: ids, targets, loss_mask: new Array(B * T).fill(1) };
}

const TINY = modelConfig({ nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, vocabSize: 64, blockSize: 16 });

async function run(steps: number, threads: number): Promise<number[]> {
  const trainer = await Trainer.create(TINY, initWeights(TINY, 7), {
    batchSize: 8,
    seqLen: 16,
    intraOpNumThreads: threads,
  });
  const rng = new Prng(3);
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      losses.push((await trainer.trainStep(affineBatch(rng, 8, 16, 64), 1e-2)).loss!);
    }
  } finally {
    await trainer.dispose();
  }
  return losses;
}

Deno.test("Trainer lowers the loss on the x → 5x+3 mod V task", async () => {
  const losses = await run(60, 1);
  assert.ok(losses[0]! > 3.5, `initial loss ${losses[0]} should be near ln 64`);
  assert.ok(losses.at(-1)! < 0.5, `final loss ${losses.at(-1)} should be small`);
});

Deno.test("Trainer is deterministic run to run on one thread", async () => {
  const a = await run(5, 1);
  const b = await run(5, 1);
  assert.deepEqual(a, b);
});

Deno.test("Trainer.loadState() hands weights and moments to a trainer of another length", async () => {
  const a = await Trainer.create(TINY, initWeights(TINY, 7), { batchSize: 2, seqLen: 16 });
  const b = await Trainer.create(TINY, initWeights(TINY, 8), { batchSize: 2, seqLen: 8 });
  try {
    const rng = new Prng(4);
    await a.trainStep(affineBatch(rng, 2, 16, 64), 1e-2);
    b.loadState(a);
    assert.equal(b.step, 1);
    for (const [k, t] of a.weights) assert.equal(b.weights.get(k), t);
    for (const [k, t] of a.v) assert.equal(b.v.get(k), t);
    const m = await b.trainStep(affineBatch(rng, 2, 8, 64), 1e-2);
    assert.ok(Number.isFinite(m.loss!));
    assert.deepEqual([a.step, b.step], [1, 2]);
    assert.throws(() => b.loadState({ weights: new Map(), m: a.m, v: a.v, step: 1 }), /missing/);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

/** `batch` (rows of `T`) right-padded with masked zeros to rows of `T2`. */
function padRows(batch: Batch, B: number, T: number, T2: number): Batch {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(batch)) {
    const rows: number[] = [];
    for (let b = 0; b < B; b++) {
      rows.push(...Array.from(v).slice(b * T, (b + 1) * T), ...new Array(T2 - T).fill(0));
    }
    out[k] = rows;
  }
  return out;
}

Deno.test("TrainerBuckets trains a short batch in a short bucket as in the longest one", async () => {
  const opts = { batchSize: 2, seqLen: 16, intraOpNumThreads: 1 };
  const buckets = await TrainerBuckets.create(TINY, initWeights(TINY, 7), {
    ...opts,
    lengths: [8, 4],
  });
  const whole = await Trainer.create(TINY, initWeights(TINY, 7), opts);
  try {
    assert.deepEqual(buckets.lengths, [4, 8, 16]);
    assert.deepEqual([buckets.bucketFor(3), buckets.bucketFor(5), buckets.bucketFor(99)], [
      4,
      8,
      16,
    ]);
    const rng = new Prng(5);
    for (const T of [6, 16, 4, 6]) {
      const batch = affineBatch(rng, 2, T, 64);
      const step = await buckets.trainerFor(T);
      assert.equal(step.seqLen, T === 6 ? 8 : T);
      const a = await step.trainStep(padRows(batch, 2, T, step.seqLen), 1e-2);
      const b = await whole.trainStep(padRows(batch, 2, T, 16), 1e-2);
      assert.ok(Math.abs(a.loss! - b.loss!) < 1e-5, `loss ${a.loss} vs ${b.loss} at T=${T}`);
    }
    assert.equal(buckets.step, 4);
    for (const [k, t] of whole.weights) {
      const got = buckets.weights.get(k)!.data as Float32Array;
      const want = t.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      // The key bias has no true gradient (softmax ignores a shift); Adam scales its rounding
      // noise up to a visible step, so it only has to agree within a tenth of one step.
      const tol = k.endsWith("attn.c_attn.bias") ? 1e-3 : 1e-6;
      assert.ok(worst < tol, `${k}: max |Δ| ${worst}`);
    }
    await assert.rejects(
      () => TrainerBuckets.create(TINY, initWeights(TINY, 7), { ...opts, lengths: [32] }),
      /bucket length 32: must be an integer in \[2, 16\]/,
    );
  } finally {
    await buckets.dispose();
    await whole.dispose();
  }
});

for (const kind of ["sft", "policy"] as const) {
  Deno.test(`Trainer with sparseLoss matches the dense loss and weights (${kind})`, async () => {
    const B = 4, T = 16;
    const objective = kind === "sft" ? { kind } : { kind, klCoef: 0.1, entropyCoef: 0.01 };
    const opts = { batchSize: B, seqLen: T, intraOpNumThreads: 1, objective };
    const dense = await Trainer.create(TINY, initWeights(TINY, 9), opts);
    const sparse = await Trainer.create(TINY, initWeights(TINY, 9), { ...opts, sparseLoss: true });
    try {
      const rng = new Prng(11);
      for (let step = 0; step < 4; step++) {
        const batch: Record<string, number[]> = { ...affineBatch(rng, B, T, 64) } as never;
        // A prompt of 5-11 positions per row, then the trained tokens; step 3 trains nothing.
        batch.loss_mask = Array.from(
          { length: B * T },
          (_, i) => step < 3 && i % T >= 5 + ((i / T) | 0) * 2 ? 1 : 0,
        );
        if (kind === "policy") {
          batch.advantages = Array.from({ length: B * T }, () => rng.uniform() * 2 - 1);
          for (const f of ["behaviour_logprobs", "proximal_logprobs", "reference_logprobs"]) {
            batch[f] = Array.from({ length: B * T }, () => -4 - rng.uniform());
          }
        }
        const a = await dense.trainStep(batch, 1e-2);
        const b = await sparse.trainStep(batch, 1e-2);
        for (const k of Object.keys(a)) {
          assert.ok(Math.abs(a[k]! - b[k]!) < 1e-5, `step ${step} ${k}: ${a[k]} vs ${b[k]}`);
        }
        if (step === 3) assert.equal(Math.abs(b.loss!), 0, "no trained token, no loss");
      }
      let maxDiff = 0;
      for (const [name, t] of dense.weights) {
        const u = sparse.weights.get(name)!.data as Float32Array;
        (t.data as Float32Array).forEach((x, i) =>
          maxDiff = Math.max(maxDiff, Math.abs(x - u[i]!))
        );
      }
      assert.ok(maxDiff < 1e-5, `max |Δweight| ${maxDiff}`);
    } finally {
      await dense.dispose();
      await sparse.dispose();
    }
  });
}
