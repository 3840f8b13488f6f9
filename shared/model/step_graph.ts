/**
 * The step graph of a built-in model (what policy-inference serves): the decoder of @parlmt/model (same weights and
 * layout, same arithmetic) shaped for a slot cache. It reads the cache in place and returns only
 * the keys and values of the new tokens, so nothing proportional to the cache is copied per
 * step (the Hugging Face interface concatenates and returns the whole cache every step).
 *
 * Inputs: `input_ids`, `position_ids` `[B, S]`; `past_bias` `[B, C]` (0 = a cached token the
 * row attends to, -1e9 = padding); `past.N.key|value` `[B, H, C, D]`. The S new tokens of a
 * row attend causally to each other. Outputs: `logits` `[B, S, V]`, `logsumexp` `[B, S]`
 * (so a token's log-probability is `logits - logsumexp`, without a pass over the vocabulary in
 * JS), `new.N.key|value` `[B, H, S, D]`.
 */
import {
  add,
  attr,
  concat,
  dimOf,
  gather,
  gelu,
  GraphBuilder,
  ints,
  layerNorm,
  lessOrEqual,
  matMul,
  mul,
  range,
  relu,
  reshape,
  scalar,
  silu,
  slice,
  softmax,
  split,
  transpose,
  unsqueeze,
  type Value,
  where,
} from "@parlmt/onnx";
import { type HostTensor, hostTensor } from "@parlmt/onnx";
import { Session, type SessionOptions } from "@parlmt/ort";
import type { ModelConfig } from "./config.ts";
import { MASKED } from "./masks.ts";
import { rotary } from "./rotary.ts";
import { paramSpecs, type Weights } from "./weights.ts";

/** Names of the step graph's cache inputs and outputs of layer `l`. */
export const STEP_NAMES = {
  pastKey: (l: number) => `past.${l}.key`,
  pastValue: (l: number) => `past.${l}.value`,
  newKey: (l: number) => `new.${l}.key`,
  newValue: (l: number) => `new.${l}.value`,
} as const;

/** Builds the step graph with `weights` baked in as initializers. */
export function buildStepGraph(c: ModelConfig, weights: Weights): GraphBuilder {
  const g = new GraphBuilder("policy_step");
  const w = new Map<string, Value>();
  for (const s of paramSpecs(c)) {
    const t = weights.get(s.name);
    if (!t) throw new RangeError(`Cannot build step graph: weight "${s.name}" is missing`);
    w.set(s.name, g.initializer(s.name, t));
  }
  const p = (name: string) => w.get(name)!;
  const H = c.nHead;
  const D = c.nEmbd / H;
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const pos = g.input("position_ids", "int64", ["batch", "seq"]);
  const pastBias = g.input("past_bias", "float32", ["batch", "past"]);
  const past = Array.from({ length: c.nLayer }, (_, l) => ({
    key: g.input(STEP_NAMES.pastKey(l), "float32", ["batch", H, "past", D]),
    value: g.input(STEP_NAMES.pastValue(l), "float32", ["batch", H, "past", D]),
  }));
  // Causal bias among the new tokens [S, S], and the cache bias as [B, 1, 1, C].
  const S = dimOf(ids, 1);
  const idx = range(scalar(S, 0), S, scalar(S, 1), "seq");
  const causal = lessOrEqual(unsqueeze(idx, [0]), unsqueeze(idx, [1]));
  const newBias = where(causal, scalar(pastBias, 0), scalar(pastBias, MASKED));
  const cacheBias = unsqueeze(pastBias, [1, 2]);
  const C = unsqueeze(dimOf(past[0]!.key, 2), [0]);
  const zero = g.constant({ dtype: "int64", dims: [1], data: new BigInt64Array(1) });
  const end = g.constant({ dtype: "int64", dims: [1], data: BigInt64Array.of(1n << 62n) });

  let x = add(gather(p("transformer.wte.weight"), ids), gather(p("transformer.wpe.weight"), pos));
  for (let l = 0; l < c.nLayer; l++) {
    const pre = `transformer.h.${l}.`;
    const [h] = layerNorm(x, p(pre + "ln_1.weight"), p(pre + "ln_1.bias"), {
      epsilon: c.layerNormEps,
    });
    const qkv = add(matMul(h!, p(pre + "attn.c_attn.weight")), p(pre + "attn.c_attn.bias"));
    const [q, k, v] = split(qkv, [c.nEmbd, c.nEmbd, c.nEmbd], { axis: 2 });
    const heads = (t: Value) => transpose(reshape(t, [0, 0, H, D]), [0, 2, 1, 3]); // [B, H, S, D]
    const kh = c.rotary ? rotary(c, heads(k!), pos) : heads(k!);
    const vh = heads(v!);
    g.output(kh, STEP_NAMES.newKey(l));
    g.output(vh, STEP_NAMES.newValue(l));
    const qh = mul(c.rotary ? rotary(c, heads(q!), pos) : heads(q!), 1 / Math.sqrt(D));
    const { key: pk, value: pv } = past[l]!;
    const sPast = add(matMul(qh, transpose(pk, [0, 1, 3, 2])), cacheBias); // [B, H, S, C]
    const sNew = add(matMul(qh, transpose(kh, [0, 1, 3, 2])), newBias); // [B, H, S, S]
    const att = softmax(concat([sPast, sNew], 3));
    const aPast = slice(att, zero, C, [3], ["batch", H, "seq", "past"]);
    const aNew = slice(att, C, end, [3], ["batch", H, "seq", "seq"]);
    const o = add(matMul(aPast, pv), matMul(aNew, vh)); // [B, H, S, D]
    const y = matMul(
      reshape(transpose(o, [0, 2, 1, 3]), [0, 0, c.nEmbd]),
      p(pre + "attn.c_proj.weight"),
    );
    x = add(x, add(y, p(pre + "attn.c_proj.bias")));
    const [h2] = layerNorm(x, p(pre + "ln_2.weight"), p(pre + "ln_2.bias"), {
      epsilon: c.layerNormEps,
    });
    const a = add(matMul(h2!, p(pre + "mlp.c_fc.weight")), p(pre + "mlp.c_fc.bias"));
    const act = c.activation === "gelu" ? gelu(a) : c.activation === "relu" ? relu(a) : silu(a);
    x = add(x, add(matMul(act, p(pre + "mlp.c_proj.weight")), p(pre + "mlp.c_proj.bias")));
  }
  const [xf] = layerNorm(x, p("transformer.ln_f.weight"), p("transformer.ln_f.bias"), {
    epsilon: c.layerNormEps,
  });
  const logits = matMul(xf!, transpose(p("lm_head.weight")));
  g.output(logits, "logits");
  const lse = g.node("ReduceLogSumExp", [logits, ints(logits, [2])], [{
    dtype: "float32",
    shape: ["batch", "seq"],
  }], { keepdims: attr.int(0) })[0]!;
  g.output(lse, "logsumexp");
  return g;
}

/**
 * Greedy decoding over the step graph with a preallocated cache: each step's new keys and values
 * are written into the cache in place (the loop of policy-inference without its scheduler).
 */
export class StepDecoder {
  readonly config: ModelConfig;
  /** Milliseconds spent inside `session.run` since creation. */
  ortMs = 0;
  #session: Session;

  private constructor(config: ModelConfig, session: Session) {
    this.config = config;
    this.#session = session;
  }

  /** Builds the step graph with `weights` baked in and its session. */
  static async create(
    config: ModelConfig,
    weights: Weights,
    opts: SessionOptions = {},
  ): Promise<StepDecoder> {
    const session = await Session.create(buildStepGraph(config, weights).toBytes(), opts);
    return new StepDecoder(config, session);
  }

  /** Greedy continuation of equal-length `prompts` by `steps` tokens; returns the new tokens. */
  async greedy(prompts: readonly (readonly number[])[], steps: number): Promise<number[][]> {
    const { nLayer, nHead: H, nEmbd, vocabSize: V, blockSize } = this.config;
    const B = prompts.length;
    const D = nEmbd / H;
    const P0 = prompts[0]?.length ?? 0;
    if (B < 1 || P0 < 1 || prompts.some((p) => p.length !== P0)) {
      throw new RangeError("Cannot decode: prompts must be non-empty and of equal length");
    }
    const Cap = P0 + steps - 1;
    if (Cap > blockSize) {
      throw new RangeError(`Cannot decode past blockSize ${blockSize}: ${P0} + ${steps} tokens`);
    }
    const cache = Array.from({ length: 2 * nLayer }, () => new Float32Array(B * H * Cap * D));
    const bias = new Float32Array(B * Cap).fill(MASKED);
    const out: number[][] = prompts.map(() => []);
    let ids = BigInt64Array.from(prompts.flat(), (t) => BigInt(t));
    let S = P0;
    let P = 0;
    const empty = new Float32Array(0);
    for (let step = 0; step < steps; step++) {
      const C = step === 0 ? 0 : Cap;
      const pos = new BigInt64Array(B * S);
      for (let i = 0; i < pos.length; i++) pos[i] = BigInt(P + i % S);
      const feeds: Record<string, HostTensor> = {
        input_ids: hostTensor("int64", [B, S], ids),
        position_ids: hostTensor("int64", [B, S], pos),
        past_bias: hostTensor("float32", [B, C], C ? bias : empty),
      };
      for (let l = 0; l < nLayer; l++) {
        for (const [j, name] of [STEP_NAMES.pastKey(l), STEP_NAMES.pastValue(l)].entries()) {
          feeds[name] = hostTensor("float32", [B, H, C, D], C ? cache[2 * l + j] : empty);
        }
      }
      const t0 = performance.now();
      const res = await this.#session.run(feeds);
      this.ortMs += performance.now() - t0;
      for (let l = 0; l < nLayer; l++) {
        const kv = [res[STEP_NAMES.newKey(l)]!, res[STEP_NAMES.newValue(l)]!];
        kv.forEach((t, j) => {
          const fresh = t.data as Float32Array;
          for (let r = 0; r < B * H; r++) {
            cache[2 * l + j]!.set(fresh.subarray(r * S * D, (r + 1) * S * D), (r * Cap + P) * D);
          }
        });
      }
      for (let b = 0; b < B; b++) bias.fill(0, b * Cap + P, b * Cap + P + S);
      P += S;
      const logits = res.logits!.data as Float32Array;
      ids = new BigInt64Array(B);
      for (let b = 0; b < B; b++) {
        const off = (b * S + S - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + best]!) best = v;
        out[b]!.push(best);
        ids[b] = BigInt(best);
      }
      S = 1;
    }
    return out;
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.#session.dispose();
  }
}
