import assert from "node:assert/strict";
import { modelConfig } from "./config.ts";
import { LogprobScorer } from "./logprobs.ts";
import { Trainer } from "./trainer.ts";
import { initWeights } from "./weights.ts";

const C = modelConfig({ nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, vocabSize: 16, blockSize: 8 });
const B = 2, T = 8;
// Row 0 and row 1 share the prompt; they continue with different tokens at t ≥ 3.
const ids = [1, 2, 3, 4, 4, 4, 4, 4, 1, 2, 3, 9, 9, 9, 9, 9];
const targets = [2, 3, 4, 4, 4, 4, 4, 0, 2, 3, 9, 9, 9, 9, 9, 0];
const mask = [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0];

async function scores(w: Map<string, import("@parlmt/onnx").HostTensor>) {
  const s = await LogprobScorer.create(C, { weights: w, intraOpNumThreads: 1 });
  try {
    return await s.score(B, ids, targets);
  } finally {
    await s.dispose();
  }
}

Deno.test("policy loss moves probability toward positive-advantage tokens", async () => {
  const w0 = initWeights(C, 11);
  const before = await scores(w0);
  const adv = mask.map((m, i) => (i < T ? m : -m)); // row 0 good, row 1 bad
  const trainer = await Trainer.create(C, w0, {
    batchSize: B,
    seqLen: T,
    objective: { kind: "policy", klCoef: 0.01, entropyCoef: 0.001 },
    intraOpNumThreads: 1,
  });
  let first;
  try {
    for (let i = 0; i < 5; i++) {
      const lp = Array.from(await scores(trainer.weights));
      const m = await trainer.trainStep({
        input_ids: ids,
        targets,
        loss_mask: mask,
        advantages: adv,
        behaviour_logprobs: i === 0 ? lp : Array.from(before),
        proximal_logprobs: i === 0 ? lp : Array.from(before),
        reference_logprobs: Array.from(before),
      }, 1e-2);
      first ??= m;
    }
    const after = await scores(trainer.weights);
    // t = 2 is where the rows diverge: the shared context predicts 4 (good) or 9 (bad).
    assert.ok(after[2]! > before[2]!, `good token logprob ${before[2]} → ${after[2]}`);
    assert.ok(
      after[T + 2]! < before[T + 2]!,
      `bad token logprob ${before[T + 2]} → ${after[T + 2]}`,
    );
    // On-policy first step: ratio 1, nothing clipped, zero KL, near-uniform entropy.
    assert.equal(first!.clip_frac, 0);
    assert.ok(Math.abs(first!.kl!) < 1e-5, `kl ${first!.kl}`);
    assert.ok(Math.abs(first!.entropy! - Math.log(16)) < 0.05, `entropy ${first!.entropy}`);
    assert.ok(first!.grad_norm! > 0);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("SFT train graph loss equals the logprob graph's mean NLL", async () => {
  const w = initWeights(C, 12);
  const lp = await scores(w);
  const want = -mask.reduce((a, m, i) => a + m * lp[i]!, 0) / mask.reduce((a, b) => a + b, 0);
  const trainer = await Trainer.create(C, w, { batchSize: B, seqLen: T, intraOpNumThreads: 1 });
  try {
    const { loss } = await trainer.trainStep({ input_ids: ids, targets, loss_mask: mask }, 0);
    assert.ok(Math.abs(loss! - want) < 1e-5, `loss ${loss} vs ${want}`);
  } finally {
    await trainer.dispose();
  }
});
