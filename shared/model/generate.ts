/**
 * KV-cache decoding over the inference graph: a session wrapper that carries the cache, and
 * greedy generation (the policy server adds sampling and batching on top).
 */
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import { Session, type SessionOptions } from "@parlmt/ort";
import type { ModelConfig } from "./config.ts";
import {
  buildDecodeGraph,
  buildInferenceGraph,
  CACHE_NAMES,
  type InferenceGraphOptions,
} from "./inference_graph.ts";

/** A decoding state: the cache and mask of a batch of sequences. */
export interface DecodeState {
  /** Per layer `[B, H, P, D]` keys and values. */
  readonly past: readonly { key: HostTensor; value: HostTensor }[];
  /** Tokens so far per row (P). */
  readonly length: number;
  readonly batchSize: number;
}

/** Per-step options of Decoder.step(). */
export interface StepOptions {
  /** Weights, when the graph takes them as inputs. */
  readonly weights?: ReadonlyMap<string, HostTensor>;
  /** `[B, P+S]` 1 = real token, 0 = padding (left padding); default all ones. */
  readonly attentionMask?: ArrayLike<number>;
  /** `[B, S]` positions of the new tokens; default P..P+S-1 in every row. */
  readonly positionIds?: ArrayLike<number>;
}

/**
 * Inference sessions of the decoder with KV cache: the inference graph for prompts (any number
 * of new tokens) and the decode-step graph for one new token per row.
 */
export class Decoder {
  readonly config: ModelConfig;
  #session: Session;
  #stepSession: Session;

  private constructor(config: ModelConfig, session: Session, stepSession: Session) {
    this.config = config;
    this.#session = session;
    this.#stepSession = stepSession;
  }

  /** Builds the inference and decode-step graphs and their sessions. */
  static async create(
    config: ModelConfig,
    opts: InferenceGraphOptions & SessionOptions = {},
  ): Promise<Decoder> {
    const session = await Session.create(buildInferenceGraph(config, opts).toBytes(), opts);
    const stepSession = await Session.create(buildDecodeGraph(config, opts).toBytes(), opts)
      .catch(async (err) => {
        await session.dispose();
        throw err;
      });
    return new Decoder(config, session, stepSession);
  }

  /** An empty cache for `batchSize` rows. */
  emptyState(batchSize: number): DecodeState {
    const { nLayer, nHead, nEmbd } = this.config;
    const dims = [batchSize, nHead, 0, nEmbd / nHead];
    const past = Array.from({ length: nLayer }, () => ({
      key: hostTensor("float32", dims),
      value: hostTensor("float32", dims),
    }));
    return { past, length: 0, batchSize };
  }

  /**
   * Feeds `tokens` `[B, S]` (row-major) after `state`; returns logits `[B, S, V]` and the new
   * state. With left-padded rows, pass the mask and positions that skip the padding.
   */
  async step(
    state: DecodeState,
    tokens: ArrayLike<number>,
    opts: StepOptions = {},
  ): Promise<{ logits: HostTensor; state: DecodeState }> {
    const { weights, attentionMask, positionIds } = opts;
    const B = state.batchSize;
    const S = tokens.length / B;
    if (!Number.isInteger(S) || S < 1) {
      throw new RangeError(`Cannot decode ${tokens.length} tokens for batch ${B}`);
    }
    const P = state.length;
    if (P + S > this.config.blockSize) {
      throw new RangeError(`Cannot decode past blockSize ${this.config.blockSize}: at ${P + S}`);
    }
    const big = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (t) => BigInt(t)));
    let pos: BigInt64Array;
    if (positionIds) pos = big(positionIds);
    else {
      pos = new BigInt64Array(B * S);
      for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) pos[b * S + s] = BigInt(P + s);
    }
    const mask = attentionMask ? big(attentionMask) : new BigInt64Array(B * (P + S)).fill(1n);
    if (pos.length !== B * S || mask.length !== B * (P + S)) {
      throw new RangeError(
        `Cannot decode: positionIds need ${B * S} values and attentionMask ${B * (P + S)}`,
      );
    }
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor("int64", [B, S], big(tokens)),
      attention_mask: hostTensor("int64", [B, P + S], mask),
      position_ids: hostTensor("int64", [B, S], pos),
    };
    state.past.forEach((p, l) => {
      feeds[CACHE_NAMES.pastKey(l)] = p.key;
      feeds[CACHE_NAMES.pastValue(l)] = p.value;
    });
    if (weights) { for (const [k, t] of weights) feeds[k] = t; }
    const out = await (S === 1 ? this.#stepSession : this.#session).run(feeds);
    const past = state.past.map((_, l) => ({
      key: out[CACHE_NAMES.presentKey(l)]!,
      value: out[CACHE_NAMES.presentValue(l)]!,
    }));
    return { logits: out.logits!, state: { past, length: P + S, batchSize: B } };
  }

  /** Greedy continuation of equal-length `prompts` by `steps` tokens; returns the new tokens. */
  async greedy(
    prompts: readonly (readonly number[])[],
    steps: number,
    weights?: ReadonlyMap<string, HostTensor>,
  ): Promise<number[][]> {
    const B = prompts.length;
    const V = this.config.vocabSize;
    let state = this.emptyState(B);
    let feed: number[] = prompts.flat();
    const out: number[][] = prompts.map(() => []);
    for (let i = 0; i < steps; i++) {
      const r = await this.step(state, feed, weights ? { weights } : {});
      state = r.state;
      const S = feed.length / B;
      const logits = r.logits.data as Float32Array;
      feed = [];
      for (let b = 0; b < B; b++) {
        const off = (b * S + S - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + best]!) best = v;
        out[b]!.push(best);
        feed.push(best);
      }
    }
    return out;
  }

  /** Releases the sessions. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
    await this.#stepSession.dispose();
  }
}
