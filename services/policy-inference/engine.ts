/**
 * One loaded decoder: an onnxruntime session stepping a slot cache (kv_slots.ts). A PARL-MT
 * weights blob (built-in model) runs the step graph of @parlmt/model (step_graph.ts), weights baked in as
 * initializers: the cache is read in place and only the new keys and values come back. An
 * exported model folder (`model.onnx` + `config.json`) runs the Hugging Face / Optimum decoder
 * interface (`input_ids`, `attention_mask`, `position_ids`, `past_key_values.N.key|value` →
 * `logits`, `present.N.key|value`), its cache padding masked by `attention_mask`.
 */
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import { buildStepGraph, decodeWeights, type ModelConfig, STEP_NAMES } from "@parlmt/model";
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

/**
 * One step over a slot cache (see kv_slots.ts): `S` new tokens for each of `B` rows after a
 * cache of `C` positions per row.
 */
export interface StepBatch {
  readonly B: number;
  readonly S: number;
  readonly C: number;
  /** `[B, S]` */
  readonly ids: BigInt64Array;
  /** `[B, S]` */
  readonly positions: BigInt64Array;
  /** `[B, C]`: 0 on a row's cached tokens, -1e9 on padding. */
  readonly pastBias: Float32Array;
  /** Keys and values per layer, interleaved `[k0, v0, k1, v1, ...]`, each `[B, H, C, D]`. */
  readonly past: readonly Float32Array[];
}

/** Outputs of one step. */
export interface StepResult {
  /** `[B, S, V]` */
  readonly logits: Float32Array;
  /** `[B, S]` log-sum-exp of each logits row, when the graph computes it. */
  readonly logsumexp?: Float32Array;
  /** Keys and values of the new tokens per layer, interleaved, each `[B, H, S, D]`. */
  readonly fresh: Float32Array[];
}

/** Options of engine loading. */
export interface EngineOptions {
  /** Threads inside one op. @default 2 */
  readonly intraOpNumThreads?: number;
  /**
   * Threads inside one op of prefills (steps of more than one token per row), which are GEMMs
   * large enough for more threads to pay; when it differs from `intraOpNumThreads`, prefills
   * run on a second session of the same graph. @default intraOpNumThreads
   */
  readonly prefillThreads?: number;
  /**
   * Let onnxruntime's pool threads spin between runs. Off, they sleep, and the cores go to
   * the server's own work between decode steps (requests, responses, sampling). @default false
   */
  readonly spinning?: boolean;
}

/** The decode session and the prefill session (the same one unless their threads differ). */
async function sessionsOf(model: Uint8Array, opts: EngineOptions): Promise<[Session, Session]> {
  const make = (threads: number | undefined) =>
    Session.create(model, { intraOpNumThreads: threads, allowSpinning: opts.spinning ?? false });
  const decode = await make(opts.intraOpNumThreads);
  const prefillThreads = opts.prefillThreads ?? opts.intraOpNumThreads;
  if (prefillThreads === opts.intraOpNumThreads) return [decode, decode];
  try {
    return [decode, await make(prefillThreads)];
  } catch (err) {
    await decode.dispose();
    throw err;
  }
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
  /** The session of prefills when their thread count differs (else #session). */
  #prefill: Session;
  /** The step graph of @parlmt/model (step_graph.ts) (else the Hugging Face interface). */
  #fast: boolean;
  #positionIds: boolean;
  #cacheBranch: boolean;
  #disposed = false;

  private constructor(
    [session, prefill]: readonly [Session, Session],
    shape: EngineShape,
    version: bigint,
    configJson: string,
    eosIds: readonly number[],
  ) {
    this.#session = session;
    this.#prefill = prefill;
    this.shape = shape;
    this.version = version;
    this.configJson = configJson;
    this.eosIds = eosIds;
    const names = session.inputNames;
    this.#fast = names.includes("past_bias");
    this.#positionIds = names.includes("position_ids");
    this.#cacheBranch = names.includes("use_cache_branch");
    if (this.#fast) return;
    for (const need of ["input_ids", "attention_mask", "past_key_values.0.key"]) {
      if (!names.includes(need)) {
        throw new SyntaxError(`Cannot serve model: input "${need}" is missing (have ${names})`);
      }
    }
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
    const graph = buildStepGraph(config, weights).toBytes();
    const sessions = await sessionsOf(graph, opts);
    return new Engine(sessions, builtinShape(config), BigInt(version), JSON.stringify(config), []);
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
    const sessions = await sessionsOf(await Deno.readFile(file), opts);
    const eos = cfg.eos_token_id;
    const eosIds = Array.isArray(eos) ? eos.map(Number) : typeof eos === "number" ? [eos] : [];
    return new Engine(sessions, hfShape(cfg), 0n, cfgText, eosIds);
  }

  /** Runs one step: `S` new tokens per row after the slot cache of `batch`. */
  async step(batch: StepBatch): Promise<StepResult> {
    return this.#fast ? await this.#stepFast(batch) : await this.#stepHf(batch);
  }

  async #stepFast(x: StepBatch): Promise<StepResult> {
    const { nLayer, nKvHead: H, headDim: D } = this.shape;
    const { B, S, C } = x;
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor("int64", [B, S], x.ids),
      position_ids: hostTensor("int64", [B, S], x.positions),
      past_bias: hostTensor("float32", [B, C], x.pastBias),
    };
    for (let l = 0; l < nLayer; l++) {
      feeds[STEP_NAMES.pastKey(l)] = hostTensor("float32", [B, H, C, D], x.past[2 * l]);
      feeds[STEP_NAMES.pastValue(l)] = hostTensor("float32", [B, H, C, D], x.past[2 * l + 1]);
    }
    const out = await (S > 1 ? this.#prefill : this.#session).run(feeds);
    const fresh: Float32Array[] = [];
    for (let l = 0; l < nLayer; l++) {
      fresh.push(
        out[STEP_NAMES.newKey(l)]!.data as Float32Array,
        out[STEP_NAMES.newValue(l)]!.data as Float32Array,
      );
    }
    return {
      logits: out.logits!.data as Float32Array,
      logsumexp: out.logsumexp!.data as Float32Array,
      fresh,
    };
  }

  /**
   * The Hugging Face interface: the slot cache is the past as it is (padding masked out by
   * `attention_mask`, positions given per row), and the new keys and values are the last `S`
   * positions of the presents.
   */
  async #stepHf(x: StepBatch): Promise<StepResult> {
    const { nLayer, nKvHead: H, headDim: D } = this.shape;
    const { B, S, C } = x;
    const T = C + S;
    const mask = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < C; j++) if (x.pastBias[b * C + j] === 0) mask[b * T + j] = 1n;
      mask.fill(1n, b * T + C, (b + 1) * T);
    }
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor("int64", [B, S], x.ids),
      attention_mask: hostTensor("int64", [B, T], mask),
    };
    if (this.#positionIds) feeds.position_ids = hostTensor("int64", [B, S], x.positions);
    if (this.#cacheBranch) {
      feeds.use_cache_branch = hostTensor("bool", [1], Uint8Array.of(C > 0 ? 1 : 0));
    }
    for (let l = 0; l < nLayer; l++) {
      feeds[`past_key_values.${l}.key`] = hostTensor("float32", [B, H, C, D], x.past[2 * l]);
      feeds[`past_key_values.${l}.value`] = hostTensor("float32", [B, H, C, D], x.past[2 * l + 1]);
    }
    const out = await (S > 1 ? this.#prefill : this.#session).run(feeds);
    const fresh: Float32Array[] = [];
    for (let l = 0; l < nLayer; l++) {
      for (const kind of ["key", "value"]) {
        const present = out[`present.${l}.${kind}`]!.data as Float32Array;
        if (C === 0) {
          fresh.push(present);
          continue;
        }
        const t = new Float32Array(B * H * S * D);
        for (let r = 0; r < B * H; r++) {
          t.set(present.subarray((r * T + C) * D, (r + 1) * T * D), r * S * D);
        }
        fresh.push(t);
      }
    }
    return { logits: out.logits!.data as Float32Array, fresh };
  }

  /** Log-probability of every token of `ids` after the first, in one forward pass (canary). */
  async sequenceLogprobs(ids: readonly number[]): Promise<number[]> {
    const T = ids.length;
    const { logits } = await this.step({
      B: 1,
      S: T,
      C: 0,
      ids: BigInt64Array.from(ids.map(BigInt)),
      positions: BigInt64Array.from(ids.map((_, i) => BigInt(i))),
      pastBias: new Float32Array(0),
      past: Array.from({ length: 2 * this.shape.nLayer }, () => new Float32Array(0)),
    });
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
    if (this.#prefill !== this.#session) await this.#prefill.dispose();
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
