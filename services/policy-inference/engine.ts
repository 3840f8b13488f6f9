/**
 * One loaded decoder: an onnxruntime session with the Hugging Face / Optimum decoder interface
 * (`input_ids`, `attention_mask`, `position_ids`, `past_key_values.N.key|value` → `logits`,
 * `present.N.key|value`), from a PARL-MT weights blob (built-in model, weights baked in as
 * initializers) or from an exported model folder (`model.onnx` + `config.json`).
 */
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import { buildInferenceGraph, decodeWeights, type ModelConfig } from "@parlmt/model";
import { Session } from "@parlmt/ort";

/** What the batching code needs to know about a decoder. */
export interface EngineShape {
  readonly nLayer: number;
  /** Heads of the KV cache (fewer than the query heads under GQA). */
  readonly nKvHead: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated) the model accepts. */
  readonly maxPositions: number;
}

/** Outputs of one forward step. */
export interface ForwardResult {
  /** `[B, S, V]` */
  readonly logits: Float32Array;
  /** Keys and values per layer, interleaved `[k0, v0, k1, v1, ...]`, each `[B, H, P+S, D]`. */
  readonly present: Float32Array[];
}

/** Options of engine loading. */
export interface EngineOptions {
  /** Threads inside one op. @default 2 */
  readonly intraOpNumThreads?: number;
}

const MODEL_FILES = ["model.onnx", "decoder_model_merged.onnx", "onnx/model.onnx"];

/** A loaded decoder with a weights version; shared by every request decoding on it. */
export class Engine {
  readonly shape: EngineShape;
  /** Weights version (0 for a static model folder). */
  readonly version: bigint;
  /** Model config as JSON (the weights blob's config, or the folder's config.json). */
  readonly configJson: string;
  /** End-of-sequence token ids declared by the model folder (empty for blobs). */
  readonly eosIds: readonly number[];
  #session: Session;
  #positionIds: boolean;
  #cacheBranch: boolean;
  #disposed = false;

  private constructor(
    session: Session,
    shape: EngineShape,
    version: bigint,
    configJson: string,
    eosIds: readonly number[],
  ) {
    this.#session = session;
    this.shape = shape;
    this.version = version;
    this.configJson = configJson;
    this.eosIds = eosIds;
    const names = session.inputNames;
    for (const need of ["input_ids", "attention_mask", "past_key_values.0.key"]) {
      if (!names.includes(need)) {
        throw new SyntaxError(`Cannot serve model: input "${need}" is missing (have ${names})`);
      }
    }
    this.#positionIds = names.includes("position_ids");
    this.#cacheBranch = names.includes("use_cache_branch");
  }

  /**
   * Loads a PARL-MT weights blob (safetensors with config and version); `version` overrides
   * the blob's own (the bus announcement's version is authoritative).
   */
  static async fromWeightsBlob(
    bytes: Uint8Array,
    opts: EngineOptions & { version?: bigint } = {},
  ): Promise<Engine> {
    const decoded = decodeWeights(bytes);
    const { config, weights } = decoded;
    const version = opts.version ?? BigInt(decoded.version);
    const graph = buildInferenceGraph(config, { weights }).toBytes();
    const session = await Session.create(graph, { intraOpNumThreads: opts.intraOpNumThreads });
    return new Engine(session, builtinShape(config), BigInt(version), JSON.stringify(config), []);
  }

  /** Loads an exported folder: `model.onnx` (HF/Optimum names) and `config.json`. */
  static async fromModelDir(dir: string, opts: EngineOptions = {}): Promise<Engine> {
    const cfgText = await Deno.readTextFile(`${dir}/config.json`);
    const cfg = JSON.parse(cfgText) as Record<string, unknown>;
    let file = "";
    for (const f of MODEL_FILES) {
      if (await Deno.stat(`${dir}/${f}`).then(() => true, () => false)) {
        file = `${dir}/${f}`;
        break;
      }
    }
    if (!file) throw new SyntaxError(`Cannot serve "${dir}": none of ${MODEL_FILES} exists`);
    const session = await Session.create(await Deno.readFile(file), {
      intraOpNumThreads: opts.intraOpNumThreads,
    });
    const eos = cfg.eos_token_id;
    const eosIds = Array.isArray(eos) ? eos.map(Number) : typeof eos === "number" ? [eos] : [];
    return new Engine(session, hfShape(cfg), 0n, cfgText, eosIds);
  }

  /**
   * Runs `S` new tokens for `B` rows after a cache of `P` positions. `ids` and `positionIds`
   * are `[B, S]`, `mask` `[B, P+S]`, `past` interleaved `[B, H, P, D]` per layer.
   */
  async forward(
    B: number,
    S: number,
    P: number,
    ids: BigInt64Array,
    positionIds: BigInt64Array,
    mask: BigInt64Array,
    past: readonly Float32Array[],
  ): Promise<ForwardResult> {
    const { nLayer, nKvHead: H, headDim: D } = this.shape;
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor("int64", [B, S], ids),
      attention_mask: hostTensor("int64", [B, P + S], mask),
    };
    if (this.#positionIds) feeds.position_ids = hostTensor("int64", [B, S], positionIds);
    if (this.#cacheBranch) {
      feeds.use_cache_branch = hostTensor("bool", [1], Uint8Array.of(P > 0 ? 1 : 0));
    }
    for (let l = 0; l < nLayer; l++) {
      feeds[`past_key_values.${l}.key`] = hostTensor("float32", [B, H, P, D], past[2 * l]);
      feeds[`past_key_values.${l}.value`] = hostTensor("float32", [B, H, P, D], past[2 * l + 1]);
    }
    const out = await this.#session.run(feeds);
    const present: Float32Array[] = [];
    for (let l = 0; l < nLayer; l++) {
      present.push(
        out[`present.${l}.key`]!.data as Float32Array,
        out[`present.${l}.value`]!.data as Float32Array,
      );
    }
    return { logits: out.logits!.data as Float32Array, present };
  }

  /** Log-probability of every token of `ids` after the first, in one forward pass (canary). */
  async sequenceLogprobs(ids: readonly number[]): Promise<number[]> {
    const T = ids.length;
    const past = Array.from({ length: 2 * this.shape.nLayer }, () => new Float32Array(0));
    const pos = BigInt64Array.from(ids.map((_, i) => BigInt(i)));
    const { logits } = await this.forward(
      1,
      T,
      0,
      BigInt64Array.from(ids.map(BigInt)),
      pos,
      new BigInt64Array(T).fill(1n),
      past,
    );
    const V = this.shape.vocabSize;
    const out: number[] = [];
    for (let t = 0; t + 1 < T; t++) out.push(logSoftmaxAt(logits, t * V, V, ids[t + 1]!));
    return out;
  }

  /** Releases the session (idempotent). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.dispose();
  }
}

/** log softmax(logits[off .. off+V])[token], in float64. */
export function logSoftmaxAt(logits: Float32Array, off: number, V: number, token: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[off + v]! > max) max = logits[off + v]!;
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v]! - max);
  return logits[off + token]! - max - Math.log(sum);
}

function builtinShape(c: ModelConfig): EngineShape {
  return {
    nLayer: c.nLayer,
    nKvHead: c.nHead,
    headDim: c.nEmbd / c.nHead,
    vocabSize: c.vocabSize,
    maxPositions: c.blockSize,
  };
}

/** The cache shape from a Hugging Face `config.json` (GPT-2, Llama, Qwen, Mistral names). */
export function hfShape(cfg: Record<string, unknown>): EngineShape {
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) if (typeof cfg[k] === "number") return cfg[k] as number;
    return undefined;
  };
  const nLayer = num("num_hidden_layers", "n_layer");
  const nHead = num("num_attention_heads", "n_head");
  const hidden = num("hidden_size", "n_embd");
  const vocabSize = num("vocab_size");
  const maxPositions = num("max_position_embeddings", "n_positions", "n_ctx");
  if (!nLayer || !nHead || !hidden || !vocabSize || !maxPositions) {
    throw new SyntaxError(
      "Cannot read config.json: need num_hidden_layers|n_layer, num_attention_heads|n_head, hidden_size|n_embd, vocab_size, max_position_embeddings|n_positions",
    );
  }
  return {
    nLayer,
    nKvHead: num("num_key_value_heads") ?? nHead,
    headDim: num("head_dim") ?? hidden / nHead,
    vocabSize,
    maxPositions,
  };
}
