import { float32, type HostTensor, hostTensor, int64 } from "@parlmt/onnx";
import { checkGrad, rand } from "@parlmt/ort";
import { maskedCrossEntropy, policyLoss } from "./loss.ts";

function f64(t: HostTensor): HostTensor {
  return hostTensor("float64", t.dims, Float64Array.from(t.data as Float32Array));
}

const B = 2, T = 3, V = 5;
const targets = int64([B, T], [1, 4, 0, 3, 2, 2]);
const mask = f64(float32([B, T], [1, 1, 0, 1, 1, 1]));

Deno.test("maskedCrossEntropy() gradient matches finite differences", async () => {
  await checkGrad(([l, t, m]) => maskedCrossEntropy(l!, t!, m!), [
    rand("float64", [B, T, V], 1, -2, 2),
    targets,
    mask,
  ]);
});

Deno.test("policyLoss() gradient matches finite differences (clipped and unclipped tokens)", async () => {
  const adv = f64(float32([B, T], [1, -0.5, 2, -1, 0.7, 1.5]));
  // Proximal logprobs far from and near the current ones: some ratios clip, some do not.
  const prox = f64(float32([B, T], [-1, -3, -1.5, -0.5, -6, -1.2]));
  const behav = f64(float32([B, T], [-1.1, -2.5, -1.5, -0.2, -5, -2]));
  const ref = f64(float32([B, T], [-1.5, -1.5, -1.5, -1.5, -1.5, -1.5]));
  for (const opts of [{}, { klCoef: 0.1, entropyCoef: 0.05, clipHigh: 0.28 }]) {
    await checkGrad(
      ([l, t, m, a, bl, pl, rl]) =>
        policyLoss(l!, t!, {
          mask: m!,
          advantages: a!,
          behaviourLogprobs: bl!,
          proximalLogprobs: pl!,
          referenceLogprobs: rl!,
        }, opts).loss,
      [rand("float64", [B, T, V], 2, -2, 2), targets, mask, adv, behav, prox, ref],
      {
        // Every float input is checked, advantages and logprob inputs included.
        maxElems: 30,
      },
    );
  }
});
