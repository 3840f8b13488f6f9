/**
 * Checkpoints and weight blobs, both safetensors. A weight blob holds the weights with the model
 * config (and a version) in its metadata, so a reader builds the model from the blob alone. A
 * checkpoint adds the AdamW moments (`optimizer.m.<name>`, `optimizer.v.<name>`), optionally a
 * running average of the weights (`average.<name>`), the step, the PRNG state and free JSON
 * metadata.
 */
import type { HostTensor } from "@parlmt/onnx";
import { type ModelConfig, modelConfig } from "./config.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import { checkWeights, paramSpecs, type Weights } from "./weights.ts";

/** Format tag stored in `__metadata__.format`. */
export const CHECKPOINT_FORMAT = "parlmt-checkpoint-v1";
/** Format tag of weight blobs. */
export const WEIGHTS_FORMAT = "parlmt-weights-v1";

/** Everything needed to resume training. */
export interface Checkpoint {
  readonly config: ModelConfig;
  readonly weights: Weights;
  readonly m: Weights;
  readonly v: Weights;
  /** A running average of the weights (the learner's EMA), when one is kept. */
  readonly average?: Weights;
  /** Optimizer steps taken. */
  readonly step: number;
  /** PRNG state words (see Prng.state). */
  readonly rngState: readonly number[];
  /** Caller's JSON-serialisable metadata (run id, data cursor, ...). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Encodes weights and config (and a version) as a safetensors blob. */
export function encodeWeights(config: ModelConfig, weights: Weights, version = 0): Uint8Array {
  checkWeights(config, weights);
  return encodeSafetensors(weights, {
    format: WEIGHTS_FORMAT,
    config: JSON.stringify(config),
    version: String(version),
  });
}

/** Decodes a weight blob into config, weights and version. */
export function decodeWeights(
  bytes: Uint8Array,
): { config: ModelConfig; weights: Weights; version: number } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== WEIGHTS_FORMAT && metadata.format !== CHECKPOINT_FORMAT) {
    throw new SyntaxError(`Cannot read weights: format "${metadata.format}"`);
  }
  const config = modelConfig(JSON.parse(metadata.config ?? "{}"));
  const weights: Weights = new Map();
  for (const s of paramSpecs(config)) weights.set(s.name, tensors.get(s.name)!);
  checkWeights(config, weights);
  return { config, weights, version: Number(metadata.version ?? 0) };
}

/** Encodes a checkpoint as one safetensors file. */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  checkWeights(ck.config, ck.weights);
  const all = new Map<string, HostTensor>(ck.weights);
  for (const s of paramSpecs(ck.config)) {
    all.set(`optimizer.m.${s.name}`, ck.m.get(s.name)!);
    all.set(`optimizer.v.${s.name}`, ck.v.get(s.name)!);
  }
  if (ck.average) {
    checkWeights(ck.config, ck.average);
    for (const s of paramSpecs(ck.config)) all.set(`average.${s.name}`, ck.average.get(s.name)!);
  }
  return encodeSafetensors(all, {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(ck.config),
    step: String(ck.step),
    rng: JSON.stringify(ck.rngState),
    extra: JSON.stringify(ck.extra),
  });
}

/** Decodes a checkpoint, throwing a `SyntaxError`/`RangeError` naming what is wrong. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new SyntaxError(`Cannot read checkpoint: format "${metadata.format}"`);
  }
  const config = modelConfig(JSON.parse(metadata.config ?? "{}"));
  const pick = (prefix: string): Weights => {
    const w: Weights = new Map();
    for (const s of paramSpecs(config)) {
      const t = tensors.get(prefix + s.name);
      if (!t) throw new RangeError(`Cannot read checkpoint: missing "${prefix + s.name}"`);
      w.set(s.name, t);
    }
    return w;
  };
  return {
    config,
    weights: pick(""),
    m: pick("optimizer.m."),
    v: pick("optimizer.v."),
    ...(tensors.has(`average.${paramSpecs(config)[0]!.name}`) ? { average: pick("average.") } : {}),
    step: Number(metadata.step ?? 0),
    rngState: JSON.parse(metadata.rng ?? "[]"),
    extra: JSON.parse(metadata.extra ?? "{}"),
  };
}

/** Writes a checkpoint atomically (temp file + rename). */
export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeFile(tmp, encodeCheckpoint(ck));
  await Deno.rename(tmp, path);
}

/** Reads a checkpoint file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await Deno.readFile(path));
}
