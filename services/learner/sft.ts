/**
 * Supervised fine-tuning of the built-in decoder on an SFT data directory.
 *
 *   deno task sft --data DIR --out DIR [--steps 300 --batch-size 8 --buckets 64,128,256 ...]
 *
 * Trains (or loads) the tokenizer, encodes samples with the turn template (only the target
 * trains), pads them into length buckets (one Trainer per bucket, sharing weights and moments),
 * logs `losses/train`, `losses/heldout`, `perf/tokens_per_sec` to `metrics.jsonl`, saves
 * checkpoints, then decodes held-out and training prompts greedily and reports exact match of
 * the calls (`charts/exact_match`, `charts/exact_match_train`). Writes `summary.json` and prints
 * one summary line on stdout.
 * @module
 */
import { join } from "node:path";
import { type ConfigOf, HelpRequested, parseConfig } from "@parlmt/config";
import { Logger } from "@parlmt/log";
import {
  encodeWeights,
  initWeights,
  LogprobScorer,
  modelConfig,
  paramCount,
  Prng,
  saveCheckpoint,
  TrainerBuckets,
} from "@parlmt/model";
import { type PreTokenizerStyle, trainTurnTokenizer, TurnTemplate } from "@parlmt/tokenizer";
import { ProgressLine } from "./progress_line.ts";
import { ScalarLog } from "./scalar_log.ts";
import {
  type EncodedExample,
  encodeExample,
  loadSftData,
  padBatch,
  pickBucket,
} from "./sft_data.ts";
import { evaluateExactMatch, heldOutLoss } from "./sft_eval.ts";

/** Every SFT option, with its default and doc (flags `--kebab-name`, env `SFT_UPPER_NAME`). */
export const SFT_CONFIG_SPEC = {
  data: {
    type: "string",
    default: "",
    doc: "Directory with train.jsonl, test.jsonl [tokenizer.json]",
  },
  out: { type: "string", default: "", doc: "Output directory (checkpoint, tokenizer, metrics)" },
  steps: { type: "integer", default: 300, min: 1, doc: "Optimizer steps" },
  batchSize: { type: "integer", default: 8, min: 1, doc: "Rows per step" },
  lr: { type: "number", default: 3e-3, min: 0, doc: "Peak learning rate" },
  warmupSteps: { type: "integer", default: 20, min: 0, doc: "Linear warm-up steps" },
  minLrRatio: { type: "number", default: 0.1, min: 0, max: 1, doc: "Final lr / peak (cosine)" },
  buckets: { type: "list", default: ["64", "128", "256"], doc: "Padded sequence lengths" },
  nLayer: { type: "integer", default: 2, min: 1, doc: "Transformer blocks" },
  nEmbd: { type: "integer", default: 128, min: 1, doc: "Residual width" },
  nHead: { type: "integer", default: 4, min: 1, doc: "Attention heads" },
  nFf: { type: "integer", default: 512, min: 1, doc: "Feed-forward width" },
  rotary: {
    type: "boolean",
    default: false,
    doc: "Rotary positions on queries and keys, besides the learned table",
  },
  vocabSize: { type: "integer", default: 512, min: 262, doc: "Tokenizer size when trained here" },
  preTokenizer: {
    type: "string",
    default: "gpt2",
    choices: ["gpt2", "isolated"],
    doc: "Pre-tokens of a tokenizer trained here (isolated: spaces and digits apart)",
  },
  seed: { type: "integer", default: 1, min: 0, doc: "Init and batch-order seed" },
  threads: { type: "integer", default: 2, min: 1, doc: "ORT intra-op threads" },
  evalEvery: { type: "integer", default: 50, min: 1, doc: "Held-out loss every N steps" },
  evalSamples: { type: "integer", default: 256, min: 1, doc: "Held-out samples for the loss" },
  logEvery: { type: "integer", default: 10, min: 1, doc: "A log line every N steps" },
  checkpointEvery: {
    type: "integer",
    default: 0,
    min: 0,
    doc: "Checkpoint every N steps (0: end)",
  },
  decodeTest: { type: "integer", default: 64, min: 0, doc: "Held-out prompts decoded at the end" },
  decodeTrain: { type: "integer", default: 64, min: 0, doc: "Train prompts decoded at the end" },
  maxNewTokens: { type: "integer", default: 128, min: 1, doc: "Generation limit per prompt" },
} as const;

/** The resolved SFT options. */
export type SftConfig = ConfigOf<typeof SFT_CONFIG_SPEC>;

/** Parses flags and environment; throws RangeError (or HelpRequested for --help). */
export function parseSftConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): SftConfig {
  const c = parseConfig("sft", SFT_CONFIG_SPEC, args, env);
  if (!c.data) throw new RangeError("Cannot run SFT: missing --data DIR");
  if (!c.out) throw new RangeError("Cannot run SFT: missing --out DIR");
  for (const b of c.buckets) {
    if (!/^\d+$/.test(b) || Number(b) < 2) {
      throw new RangeError(`Cannot use --buckets value "${b}": must be integers ≥ 2`);
    }
  }
  return c;
}

/** The final figures of a run (also written to `summary.json`). */
export interface SftSummary {
  readonly steps: number;
  readonly trainSamples: number;
  readonly testSamples: number;
  readonly droppedSamples: number;
  readonly vocabSize: number;
  readonly params: number;
  readonly heldOutLossBefore: number;
  readonly heldOutLossAfter: number;
  readonly trainLossLast: number;
  readonly exactMatch: number;
  readonly exactMatchTrain: number;
  readonly formatValid: number;
  readonly tokensPerSec: number;
  readonly seconds: number;
}

/** Runs SFT as configured. */
export async function runSft(cfg: SftConfig, logger: Logger): Promise<SftSummary> {
  const t0 = performance.now();
  const data = await loadSftData(cfg.data);
  await Deno.mkdir(cfg.out, { recursive: true });
  const tokenizer = data.tokenizer ?? trainTurnTokenizer(
    data.train.map((e) =>
      TurnTemplate.renderConversationText(
        [...e.messages, { role: "assistant", content: e.target }],
        e.tools,
      )
    ),
    { vocabSize: cfg.vocabSize, preTokenizer: cfg.preTokenizer as PreTokenizerStyle },
  );
  await Deno.writeTextFile(join(cfg.out, "tokenizer.json"), JSON.stringify(tokenizer.toJSON()));
  await Deno.writeTextFile(
    join(cfg.out, "tokenizer_config.json"),
    JSON.stringify(TurnTemplate.tokenizerConfig(), null, 2),
  );
  const template = new TurnTemplate(tokenizer);
  const buckets = [...new Set(cfg.buckets.map(Number))].sort((a, b) => a - b);
  const maxLen = buckets.at(-1)!;
  let dropped = 0;
  let shortest = Infinity;
  const encode = (xs: typeof data.train): EncodedExample[] =>
    xs.map((e) => encodeExample(template, e)).filter((r) => {
      shortest = Math.min(shortest, r.inputIds.length);
      const ok = r.inputIds.length <= maxLen;
      if (!ok) dropped++;
      return ok;
    });
  const train = encode(data.train);
  const test = encode(data.test);
  if (dropped) logger.warn(`Dropped ${dropped} samples longer than ${maxLen} tokens`);
  if (train.length === 0) {
    throw new RangeError(
      `Cannot run SFT: every train sample is longer than the largest bucket ${maxLen} (shortest ${shortest} tokens); raise --buckets`,
    );
  }
  const byBucket = new Map<number, EncodedExample[]>();
  for (const r of train) {
    const b = pickBucket(buckets, r.inputIds.length)!;
    byBucket.set(b, [...(byBucket.get(b) ?? []), r]);
  }
  const config = modelConfig({
    nLayer: cfg.nLayer,
    nEmbd: cfg.nEmbd,
    nHead: cfg.nHead,
    nFf: cfg.nFf,
    rotary: cfg.rotary,
    vocabSize: tokenizer.size,
    blockSize: maxLen,
  });
  const params = paramCount(config);
  logger.info("Starting SFT", {
    config: cfg,
    model: config,
    params,
    trainSamples: train.length,
    testSamples: test.length,
    buckets: Object.fromEntries([...byBucket].map(([b, rs]) => [b, rs.length])),
  });
  const rng = new Prng(cfg.seed);
  const metrics = await ScalarLog.open({ path: join(cfg.out, "metrics.jsonl") });
  let weights = initWeights(config, cfg.seed);
  const trainers = await TrainerBuckets.create(config, weights, {
    batchSize: cfg.batchSize,
    seqLen: maxLen,
    lengths: buckets,
    intraOpNumThreads: cfg.threads,
    sparseLoss: true, // the LM head only on the assistant tokens
  });
  let started = false;
  const scorer = await LogprobScorer.create(config, { intraOpNumThreads: cfg.threads });
  const heldOut = test.slice(0, cfg.evalSamples);
  const progress = new ProgressLine({ total: cfg.steps });
  const order = new Map<number, { rows: EncodedExample[]; at: number }>();
  const nextRows = (bucket: number): EncodedExample[] => {
    const rows = byBucket.get(bucket)!;
    const o = order.get(bucket) ?? { rows: [], at: 0 };
    order.set(bucket, o);
    const out: EncodedExample[] = [];
    while (out.length < cfg.batchSize) {
      if (o.at >= o.rows.length) {
        o.rows = [...rows];
        for (let i = o.rows.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [o.rows[i], o.rows[j]] = [o.rows[j]!, o.rows[i]!];
        }
        o.at = 0;
      }
      out.push(o.rows[o.at++]!);
    }
    return out;
  };
  const lrAt = (step: number): number => {
    if (step <= cfg.warmupSteps) return cfg.lr * step / Math.max(1, cfg.warmupSteps);
    const p = (step - cfg.warmupSteps) / Math.max(1, cfg.steps - cfg.warmupSteps);
    return cfg.lr * (cfg.minLrRatio + (1 - cfg.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
  };
  const evalHeldOut = async (step: number): Promise<number> => {
    if (heldOut.length === 0) return NaN;
    const loss = await heldOutLoss(scorer, weights, heldOut, cfg.batchSize);
    metrics.record(step, { "losses/heldout": loss });
    return loss;
  };
  const saveAll = async (step: number) => {
    if (!started) return;
    await saveCheckpoint(join(cfg.out, "checkpoint.safetensors"), {
      config,
      weights: trainers.weights,
      m: trainers.m,
      v: trainers.v,
      step,
      rngState: rng.state,
      extra: { sft: cfg },
    });
    await Deno.writeFile(join(cfg.out, "model.safetensors"), encodeWeights(config, weights, step));
  };
  let heldOutLossAfter = NaN;
  let trainLoss = NaN;
  let tokens = 0;
  let trainMs = 0;
  try {
    const heldOutLossBefore = await evalHeldOut(0);
    logger.info("Held-out loss before training", { "losses/heldout": heldOutLossBefore });
    const sizes = [...byBucket.keys()];
    const weightsOf = sizes.map((b) => byBucket.get(b)!.length);
    const total = weightsOf.reduce((a, b) => a + b, 0);
    let windowTokens = 0;
    let windowMs = 0;
    for (let step = 1; step <= cfg.steps; step++) {
      let pick = rng.uniform() * total;
      let bi = 0;
      while (pick >= weightsOf[bi]! && bi < sizes.length - 1) pick -= weightsOf[bi++]!;
      const T = sizes[bi]!;
      const trainer = await trainers.trainerFor(T);
      started = true;
      const batch = padBatch(nextRows(T), cfg.batchSize, T, template.padId);
      const s0 = performance.now();
      const m = await trainer.trainStep(batch, lrAt(step));
      const ms = performance.now() - s0;
      weights = trainer.weights;
      trainLoss = m.loss!;
      if (!Number.isFinite(trainLoss)) {
        throw new RangeError(`Cannot continue SFT: train loss is ${trainLoss} at step ${step}`);
      }
      tokens += cfg.batchSize * T;
      trainMs += ms;
      windowTokens += cfg.batchSize * T;
      windowMs += ms;
      const tokensPerSec = windowTokens / (windowMs / 1000);
      const scalars: Record<string, number> = {
        "losses/train": trainLoss,
        "losses/grad_norm": m.grad_norm!,
        "charts/learning_rate": lrAt(step),
        "perf/tokens_per_sec": tokensPerSec,
      };
      if (step % cfg.evalEvery === 0 || step === cfg.steps) {
        heldOutLossAfter = await evalHeldOut(step);
      }
      metrics.record(step, scalars);
      progress.update(step, {
        loss: trainLoss,
        heldout: heldOutLossAfter,
        "tok/s": Math.round(tokensPerSec),
      });
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        logger.info(`step ${step}/${cfg.steps}`, {
          ...scalars,
          "losses/heldout": heldOutLossAfter,
          msPerStep: windowMs / (windowTokens / (cfg.batchSize * T)),
        });
        windowTokens = 0;
        windowMs = 0;
      }
      if (cfg.checkpointEvery && step % cfg.checkpointEvery === 0) await saveAll(step);
    }
    progress.done();
    await saveAll(cfg.steps);
    const evalOpts = { maxNewTokens: cfg.maxNewTokens, threads: cfg.threads };
    const onTest = await evaluateExactMatch(
      config,
      weights,
      template,
      test.slice(0, cfg.decodeTest),
      evalOpts,
    );
    const onTrain = await evaluateExactMatch(
      config,
      weights,
      template,
      train.slice(0, cfg.decodeTrain),
      evalOpts,
    );
    // Only what was decoded (--decode-test 0 / --decode-train 0 skip the decoding).
    const decoded = Object.entries({
      "charts/exact_match": onTest.exactMatch,
      "charts/exact_match_train": onTrain.exactMatch,
      "charts/format_valid": onTest.formatValid,
    }).filter(([, v]) => Number.isFinite(v));
    if (decoded.length > 0) metrics.record(cfg.steps, Object.fromEntries(decoded));
    const summary: SftSummary = {
      steps: cfg.steps,
      trainSamples: train.length,
      testSamples: test.length,
      droppedSamples: dropped,
      vocabSize: tokenizer.size,
      params,
      heldOutLossBefore,
      heldOutLossAfter,
      trainLossLast: trainLoss,
      exactMatch: onTest.exactMatch,
      exactMatchTrain: onTrain.exactMatch,
      formatValid: onTest.formatValid,
      tokensPerSec: tokens / (trainMs / 1000),
      seconds: (performance.now() - t0) / 1000,
    };
    await Deno.writeTextFile(join(cfg.out, "summary.json"), JSON.stringify(summary, null, 2));
    await Deno.writeTextFile(
      join(cfg.out, "decoded.jsonl"),
      [...onTest.examples.map((e) => ({ split: "test", ...e }))]
        .concat(onTrain.examples.map((e) => ({ split: "train", ...e })))
        .map((e) => JSON.stringify(e) + "\n").join(""),
    );
    logger.info("Finished SFT", { ...summary });
    return summary;
  } finally {
    progress.done();
    metrics.close();
    await scorer.dispose();
    await trainers.dispose();
  }
}

if (import.meta.main) {
  const logger = new Logger({ service: "sft" });
  try {
    const summary = await runSft(parseSftConfig(Deno.args, Deno.env.toObject()), logger);
    console.log(JSON.stringify({ summary }));
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(err.message);
      Deno.exit(0);
    }
    logger.error(`SFT failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
