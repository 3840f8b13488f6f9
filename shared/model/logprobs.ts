/** A session of the logprob graph: log p(target) per token, for the policy server and learner. */
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import { Session, type SessionOptions } from "@parlmt/ort";
import type { ModelConfig } from "./config.ts";
import { buildLogprobGraph, type InferenceGraphOptions } from "./inference_graph.ts";

/** Computes per-token logprobs of given tokens under the model. */
export class LogprobScorer {
  readonly config: ModelConfig;
  #session: Session;

  private constructor(config: ModelConfig, session: Session) {
    this.config = config;
    this.#session = session;
  }

  /** Builds the logprob graph (weights baked in, or inputs when `weights` is omitted). */
  static async create(
    config: ModelConfig,
    opts: InferenceGraphOptions & SessionOptions = {},
  ): Promise<LogprobScorer> {
    return new LogprobScorer(
      config,
      await Session.create(buildLogprobGraph(config, opts).toBytes(), opts),
    );
  }

  /**
   * log p(targets[b, t] | inputIds[b, ..t]) as `[B·T]`; `attentionMask` (default all ones)
   * marks real tokens. Pass `weights` when the graph takes weights as inputs.
   */
  async score(
    batchSize: number,
    inputIds: ArrayLike<number>,
    targets: ArrayLike<number>,
    opts: { attentionMask?: ArrayLike<number>; weights?: ReadonlyMap<string, HostTensor> } = {},
  ): Promise<Float32Array> {
    const B = batchSize;
    const T = inputIds.length / B;
    if (!Number.isInteger(T) || targets.length !== inputIds.length) {
      throw new RangeError(
        `Cannot score ${inputIds.length} ids / ${targets.length} targets for batch ${B}`,
      );
    }
    const ids = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (x) => BigInt(x)));
    const pos = new BigInt64Array(B * T);
    for (let i = 0; i < B * T; i++) pos[i] = BigInt(i % T);
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor("int64", [B, T], ids(inputIds)),
      targets: hostTensor("int64", [B, T], ids(targets)),
      attention_mask: hostTensor(
        "int64",
        [B, T],
        opts.attentionMask ? ids(opts.attentionMask) : new BigInt64Array(B * T).fill(1n),
      ),
      position_ids: hostTensor("int64", [B, T], pos),
    };
    if (opts.weights) { for (const [k, t] of opts.weights) feeds[k] = t; }
    const out = await this.#session.run(feeds, ["logprobs"]);
    return out.logprobs!.data as Float32Array;
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}
