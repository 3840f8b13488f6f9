/**
 * One PAG-RL update from complete groups, top to bottom: score every trajectory with the
 * composite reward, compute group-relative advantages (optionally per turn, optionally dropping
 * zero-variance groups), turn generations into policy samples, and run the clipped policy loss
 * over fixed-shape batches. Returns the scalars to log (cleanrl names).
 */
import type { Task, Trajectory } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { type Batch, type Trainer, TrainerBuckets } from "@parlmt/model";
import {
  type AdvantageEstimator,
  groupAdvantages,
  isZeroVariance,
  turnLevelAdvantages,
} from "./advantages.ts";
import { packPolicyBatch, type PolicySample, trajectorySamples } from "./policy_batch.ts";
import {
  type Canonicalize,
  computeReward,
  type RewardTerm,
  type RewardWeights,
} from "./rewards.ts";

/** A complete group with its task. */
export interface ReadyGroup {
  groupId: string;
  task: Task | undefined;
  trajectories: Trajectory[];
}

/** Options of {@linkcode rlStep}. */
export interface RlStepOptions {
  estimator: AdvantageEstimator;
  rewardWeights: RewardWeights;
  canonicalize: Canonicalize;
  /** Drop groups whose rewards are all equal (no signal). */
  filterZeroVariance: boolean;
  /** Weight of the per-turn baseline term (0: trajectory-level advantages only). */
  turnLevelWeight: number;
  /**
   * How an update weighs its episodes: `token` (every generated token counts once, so an
   * episode of more steps and tokens pulls harder) or `episode` (each episode's advantage is
   * spread over its generated tokens: an episode counts the same whatever its length; the
   * update's mean episode length keeps the scale). @default "token"
   */
  advantageWeighting?: AdvantageWeighting;
  lr: number;
  padId: number;
  /**
   * log π_ref of every target of a packed batch (`[B·T]`), for the KL term; without it the
   * behaviour logprobs stand in and the KL term is zero.
   */
  referenceLogprobs?: (batch: Batch, batchSize: number) => Promise<ArrayLike<number>>;
}

/** How an update weighs its episodes (RlStepOptions.advantageWeighting). */
export type AdvantageWeighting = "token" | "episode";
export const ADVANTAGE_WEIGHTINGS: readonly AdvantageWeighting[] = ["token", "episode"];

/** Scalars of one update. */
export type RlScalars = Record<string, number>;

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Per-turn rewards for the turn-level baseline: 1 when the turn's checks passed. */
function turnRewards(t: Trajectory): number[] {
  const checks = t.check?.turns ?? [];
  return t.turns.map((_, i) => (checks[i] && checks[i]!.stateOk && checks[i]!.responseOk ? 1 : 0));
}

/** Scores the groups and trains on them; returns the scalars to log. */
export async function rlStep(
  trainer: Trainer,
  groups: readonly ReadyGroup[],
  options: RlStepOptions,
  shuffle?: (samples: PolicySample[]) => void,
): Promise<RlScalars> {
  const { scalars, samples } = scoreGroups(groups, options);
  shuffle?.(samples);
  return { ...scalars, ...await trainPolicy(trainer, samples, options) };
}

/**
 * Scores the groups (composite reward, advantages, optional zero-variance filtering) into
 * policy samples; returns them with the reward scalars.
 */
export function scoreGroups(
  groups: readonly ReadyGroup[],
  options: Omit<RlStepOptions, "lr" | "padId" | "referenceLogprobs">,
): { scalars: RlScalars; samples: PolicySample[] } {
  const scalars: RlScalars = {};
  const samples: PolicySample[] = [];
  const episodes: PolicySample[][] = [];
  const totals: number[] = [];
  const termSums = new Map<RewardTerm, number[]>();
  let kept = 0, filtered = 0, successes = 0, trajectories = 0;
  for (const group of groups) {
    const truth = (group.task?.turns ?? []).map((turn) => turn.groundTruthCalls);
    const rewards = group.trajectories.map((t) =>
      computeReward(t, truth, options.canonicalize, options.rewardWeights)
    );
    for (const [i, r] of rewards.entries()) {
      totals.push(r.total);
      trajectories++;
      if (group.trajectories[i]!.check?.success) successes++;
      for (const [name, value] of Object.entries(r.terms) as [RewardTerm, number][]) {
        termSums.set(name, [...(termSums.get(name) ?? []), value]);
      }
    }
    const r = rewards.map((x) => x.total);
    if (options.filterZeroVariance && isZeroVariance(r)) {
      filtered++;
      continue;
    }
    kept++;
    const adv = groupAdvantages(r, options.estimator);
    const perTurn = options.turnLevelWeight > 0
      ? turnLevelAdvantages(group.trajectories.map(turnRewards), adv, options.turnLevelWeight)
      : undefined;
    group.trajectories.forEach((t, i) =>
      episodes.push(trajectorySamples(t, perTurn?.[i] ?? adv[i]!))
    );
  }
  if (options.advantageWeighting === "episode") balanceEpisodes(episodes);
  for (const e of episodes) samples.push(...e);
  scalars["charts/reward_mean"] = mean(totals);
  scalars["charts/success_rate"] = trajectories === 0 ? 0 : successes / trajectories;
  scalars["charts/groups_kept"] = kept;
  scalars["charts/groups_filtered"] = filtered;
  for (const [name, values] of termSums) scalars[`rewards/${name}`] = mean(values);
  return { scalars, samples };
}

/** Generated tokens of an episode's samples. */
function generatedTokens(episode: readonly PolicySample[]): number {
  return episode.reduce((n, s) => n + s.advantages.length, 0);
}

/**
 * Scales each episode's advantages by L̄ / L (L its generated tokens, L̄ the mean over the
 * episodes that have any), in place: every episode then carries the same total weight for the
 * same advantage, and the update's total stays that of an episode of mean length.
 */
export function balanceEpisodes(episodes: readonly PolicySample[][]): void {
  const lengths = episodes.map(generatedTokens);
  const nonEmpty = lengths.filter((n) => n > 0);
  if (nonEmpty.length === 0) return;
  const meanLength = nonEmpty.reduce((a, b) => a + b, 0) / nonEmpty.length;
  episodes.forEach((episode, i) => {
    if (lengths[i] === 0) return;
    const w = meanLength / lengths[i]!;
    for (const s of episode) s.advantages = s.advantages.map((a) => a * w);
  });
}

/**
 * Runs the clipped policy loss over `samples` in fixed-shape batches of `trainer.batchSize`. With
 * length buckets, samples of similar length share a batch (shortest first), and each batch runs
 * in the shortest bucket that holds its longest sample; returns loss scalars.
 */
export async function trainPolicy(
  trainer: Trainer | TrainerBuckets,
  samples: readonly PolicySample[],
  options: Pick<RlStepOptions, "lr" | "padId" | "referenceLogprobs">,
): Promise<RlScalars> {
  const scalars: RlScalars = {};
  const B = trainer.batchSize;
  const losses: Record<string, number[]> = {};
  // Positions a sample fills: one per target token, at most the longest bucket.
  const positions = (s: PolicySample) => Math.min(s.tokens.length - 1, trainer.seqLen);
  const ordered = trainer instanceof TrainerBuckets
    ? [...samples].sort((a, b) => positions(a) - positions(b))
    : samples;
  let padded = 0;
  for (let i = 0; i < ordered.length; i += B) {
    const chunk = ordered.slice(i, i + B);
    const step = trainer instanceof TrainerBuckets
      ? await trainer.trainerFor(Math.max(...chunk.map(positions)))
      : trainer;
    let batch = packPolicyBatch(chunk, { batchSize: B, seqLen: step.seqLen, padId: options.padId });
    padded += B * step.seqLen;
    if (options.referenceLogprobs) {
      batch = { ...batch, reference_logprobs: await options.referenceLogprobs(batch, B) };
    }
    const m = await step.trainStep(batch, options.lr);
    for (const [k, v] of Object.entries(m)) (losses[k] ??= []).push(v);
  }
  const names: Record<string, string> = {
    loss: "losses/policy",
    clip_frac: "losses/clip_fraction",
    kl: "losses/kl",
    entropy: "losses/entropy",
    grad_norm: "losses/grad_norm",
  };
  for (const [k, v] of Object.entries(losses)) scalars[names[k] ?? `losses/${k}`] = mean(v);
  scalars["perf/samples"] = samples.length;
  scalars["perf/padded_tokens"] = padded;
  return scalars;
}
