/**
 * From scored trajectories to policy-loss batches: every generation of every step becomes one
 * sequence (its exact prompt tokens + generated tokens, as the policy server returned them, so
 * nothing is re-tokenised), and only generated tokens carry loss, advantage and behaviour
 * logprobs. Sequences are packed into the trainer's fixed `[B, T]` shape.
 */
import type { Trajectory } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { Batch } from "@parlmt/model";

/** One training sequence. */
export interface PolicySample {
  /** Prompt tokens followed by generated tokens. */
  tokens: number[];
  /** Index in `tokens` of the first generated token. */
  generatedFrom: number;
  /** log π_behaviour of each generated token. */
  behaviourLogprobs: number[];
  /** Advantage of each generated token. */
  advantages: number[];
  /** Weights version that produced each generated token. */
  versions: bigint[];
}

/**
 * The samples of a trajectory: its generations, each token weighted by `advantage` (a number
 * for the whole trajectory, or one number per turn for a turn-level baseline).
 */
export function trajectorySamples(
  trajectory: Trajectory,
  advantage: number | readonly number[],
): PolicySample[] {
  const samples: PolicySample[] = [];
  for (const [t, turn] of trajectory.turns.entries()) {
    const a = typeof advantage === "number" ? advantage : advantage[t] ?? 0;
    for (const step of turn.steps) {
      const g = step.generation;
      if (!g || g.tokenIds.length === 0) continue;
      if (g.logprobs.length !== g.tokenIds.length) {
        throw new RangeError(
          `Trajectory "${trajectory.id}" turn ${t}: ${g.tokenIds.length} tokens but ${g.logprobs.length} logprobs`,
        );
      }
      samples.push({
        tokens: [...g.promptTokenIds, ...g.tokenIds],
        generatedFrom: g.promptTokenIds.length,
        behaviourLogprobs: [...g.logprobs],
        advantages: g.tokenIds.map(() => a),
        versions: g.tokenVersions.length === g.tokenIds.length ? [...g.tokenVersions] : [],
      });
    }
  }
  return samples;
}

/** Options of {@linkcode packPolicyBatch}. */
export interface PackOptions {
  batchSize: number;
  seqLen: number;
  padId: number;
  /**
   * log π_ref per sample and generated token (for the KL term); defaults to the behaviour
   * logprobs, which makes the KL term zero.
   */
  referenceLogprobs?: readonly (readonly number[])[];
}

/**
 * Packs up to `batchSize` samples into a policy batch of `[B·T]` arrays. A sample longer than
 * `T + 1` tokens keeps the end of its prompt and as much of its generation as fits. Rows past
 * the samples are padding with a zero mask.
 */
export function packPolicyBatch(samples: readonly PolicySample[], options: PackOptions): Batch {
  const { batchSize: B, seqLen: T, padId } = options;
  if (samples.length > B) {
    throw new RangeError(`Cannot pack ${samples.length} samples into a batch of ${B}`);
  }
  const n = B * T;
  const inputIds = new Array<number>(n).fill(padId);
  const targets = new Array<number>(n).fill(padId);
  const lossMask = new Float32Array(n);
  const advantages = new Float32Array(n);
  const behaviour = new Float32Array(n);
  const reference = new Float32Array(n);
  samples.forEach((s, b) => {
    // Keep at most T + 1 tokens: drop prompt tokens from the front first, then generation tail.
    const generated = s.tokens.length - s.generatedFrom;
    const keepGenerated = Math.min(generated, T);
    const keepPrompt = Math.min(s.generatedFrom, T + 1 - keepGenerated);
    const start = s.generatedFrom - keepPrompt;
    const tokens = s.tokens.slice(start, s.generatedFrom + keepGenerated);
    const ref = options.referenceLogprobs?.[b] ?? s.behaviourLogprobs;
    for (let i = 0; i + 1 < tokens.length && i < T; i++) {
      const row = b * T + i;
      inputIds[row] = tokens[i]!;
      targets[row] = tokens[i + 1]!;
      const g = i + 1 - keepPrompt; // index of the target among generated tokens
      if (g >= 0 && g < keepGenerated) {
        lossMask[row] = 1;
        advantages[row] = s.advantages[g]!;
        behaviour[row] = s.behaviourLogprobs[g]!;
        reference[row] = ref[g]!;
      }
    }
  });
  return {
    input_ids: inputIds,
    targets,
    loss_mask: lossMask,
    advantages,
    behaviour_logprobs: behaviour,
    // One update per batch of fresh samples: the proximal policy is the behaviour policy.
    proximal_logprobs: behaviour,
    reference_logprobs: reference,
  };
}
