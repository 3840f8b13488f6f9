/**
 * The training-step graph: forward + loss + backward + AdamW in one ONNX model, weights and
 * AdamW moments in as inputs and out as outputs. One session.run = one optimizer step.
 */
import { adamW, type AdamWOptions, backward } from "@parlmt/autodiff";
import { GraphBuilder, int64, type Value } from "@parlmt/onnx";
import type { ModelConfig } from "./config.ts";
import { decoderForward } from "./decoder.ts";
import { maskedCrossEntropy, policyLoss, type PolicyLossOptions } from "./loss.ts";
import { staticCausalBias } from "./masks.ts";
import { paramSpecs } from "./weights.ts";

/** What the step minimises. */
export type Objective =
  | { readonly kind: "sft" }
  | ({ readonly kind: "policy" } & PolicyLossOptions);

/** Options of buildTrainGraph(). */
export interface TrainGraphOptions {
  /** Batch size B. */
  readonly batchSize: number;
  /** Sequence length T (≤ blockSize). */
  readonly seqLen: number;
  /** Loss. @default { kind: "sft" } */
  readonly objective?: Objective;
  /** AdamW hyperparameters. */
  readonly adamw?: AdamWOptions;
  /** Causal attention in this many query blocks (skips the masked triangle). @default 4 */
  readonly attentionBlocks?: number;
  /**
   * Compute the loss only on the positions whose `loss_mask` is set: the graph takes those
   * positions' flat indices as `loss_rows` `[N]` (int64) and every per-token field but
   * `input_ids` as `[N]` instead of `[B, T]`, and runs the LM head and the loss on N rows.
   * Same loss and gradients; less work when most positions are prompt. Trainer fills the
   * inputs from an ordinary `[B·T]` batch. @default false
   */
  readonly sparseLoss?: boolean;
}

/** Input/output naming of the training graph. */
export const TRAIN_NAMES = {
  m: (w: string) => `adam_m.${w}`,
  v: (w: string) => `adam_v.${w}`,
  out: (name: string) => `new.${name}`,
} as const;

/** Per-token batch inputs of each objective, all `[B, T]` (ids int64, the rest float32). */
export const OBJECTIVE_INPUTS = {
  sft: ["input_ids", "targets", "loss_mask"],
  policy: [
    "input_ids",
    "targets",
    "loss_mask",
    "advantages",
    "behaviour_logprobs",
    "proximal_logprobs",
    "reference_logprobs",
  ],
} as const;

/** The sparse-loss input: flat `[B·T]` indices of the positions the loss reads, `[N]` int64. */
export const LOSS_ROWS = "loss_rows";

/** Scalar outputs of each objective. */
export const OBJECTIVE_OUTPUTS = {
  sft: ["loss", "grad_norm"],
  policy: ["loss", "clip_frac", "kl", "entropy", "grad_norm"],
} as const;

/** Builds the training-step graph. Inputs: weights, moments, batch, `lr`, `step` (1-based). */
export function buildTrainGraph(c: ModelConfig, opts: TrainGraphOptions): GraphBuilder {
  const { batchSize: B, seqLen: T, objective = { kind: "sft" }, adamw = {} } = opts;
  const attnQueryBlocks = Math.max(1, Math.min(opts.attentionBlocks ?? 4, T));
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`Cannot build train graph: batch ${B}`);
  if (!Number.isInteger(T) || T < 1 || T > c.blockSize) {
    throw new RangeError(`Cannot build train graph: seqLen ${T} (blockSize ${c.blockSize})`);
  }
  const g = new GraphBuilder(`train_${objective.kind}`);
  const specs = paramSpecs(c);
  const params = specs.map((s) => g.input(s.name, "float32", s.shape));
  const m = specs.map((s) => g.input(TRAIN_NAMES.m(s.name), "float32", s.shape));
  const v = specs.map((s) => g.input(TRAIN_NAMES.v(s.name), "float32", s.shape));
  const lr = g.input("lr", "float32", []);
  const step = g.input("step", "float32", []);
  const batch = new Map<string, Value>();
  for (const name of OBJECTIVE_INPUTS[objective.kind]) {
    const ids = name === "input_ids" || name === "targets";
    const dims = opts.sparseLoss && name !== "input_ids" ? ["rows"] : [B, T];
    batch.set(name, g.input(name, ids ? "int64" : "float32", dims));
  }
  const outputRows = opts.sparseLoss ? g.input(LOSS_ROWS, "int64", ["rows"]) : undefined;
  const w = new Map(specs.map((s, i) => [s.name, params[i]!]));
  const positions = g.constant(int64([T], [...Array(T).keys()]));
  const { logits } = decoderForward(c, w, {
    inputIds: batch.get("input_ids")!,
    positionIds: positions,
    attnBias: staticCausalBias(params[0]!, T),
    attnQueryBlocks,
    outputRows,
  });
  const targets = batch.get("targets")!;
  const mask = batch.get("loss_mask")!;
  const scalars = new Map<string, Value>();
  if (objective.kind === "sft") {
    scalars.set("loss", g.scope("loss", () => maskedCrossEntropy(logits, targets, mask)));
  } else {
    const r = g.scope("loss", () =>
      policyLoss(logits, targets, {
        mask,
        advantages: batch.get("advantages")!,
        behaviourLogprobs: batch.get("behaviour_logprobs")!,
        proximalLogprobs: batch.get("proximal_logprobs")!,
        referenceLogprobs: batch.get("reference_logprobs")!,
      }, objective));
    scalars.set("loss", r.loss).set("clip_frac", r.clipFrac).set("kl", r.kl).set(
      "entropy",
      r.entropy,
    );
  }
  const grads = backward(scalars.get("loss")!, params);
  const upd = adamW(params, grads, { m, v }, lr, step, specs.map((s) => s.decay), adamw);
  scalars.set("grad_norm", upd.gradNorm);
  for (const name of OBJECTIVE_OUTPUTS[objective.kind]) g.output(scalars.get(name)!, name);
  specs.forEach((s, i) => {
    g.output(upd.params[i]!, TRAIN_NAMES.out(s.name));
    g.output(upd.m[i]!, TRAIN_NAMES.out(TRAIN_NAMES.m(s.name)));
    g.output(upd.v[i]!, TRAIN_NAMES.out(TRAIN_NAMES.v(s.name)));
  });
  return g;
}
