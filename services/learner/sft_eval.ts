/**
 * SFT evaluation: masked held-out loss with the logprob graph, and exact match of the calls a
 * model writes greedily (KV cache) for held-out or training prompts.
 * @module
 */
import { Decoder, type LogprobScorer, type ModelConfig, type Weights } from "@parlmt/model";
import { parseAssistantText, type TurnTemplate } from "@parlmt/tokenizer";
import type { EncodedExample } from "./sft_data.ts";

/** Mean NLL per trained token over `rows` (batches of `batchSize`, right padded). */
export async function heldOutLoss(
  scorer: LogprobScorer,
  weights: Weights,
  rows: readonly EncodedExample[],
  batchSize: number,
): Promise<number> {
  let nll = 0;
  let count = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const chunk = rows.slice(i, i + batchSize);
    const T = Math.max(...chunk.map((r) => r.inputIds.length));
    const ids = new Array<number>(chunk.length * T).fill(0);
    const targets = new Array<number>(chunk.length * T).fill(0);
    chunk.forEach((r, b) => {
      r.inputIds.forEach((x, t) => ids[b * T + t] = x);
      r.targets.forEach((x, t) => targets[b * T + t] = x);
    });
    const logp = await scorer.score(chunk.length, ids, targets, { weights });
    chunk.forEach((r, b) => {
      r.lossMask.forEach((m, t) => {
        if (m) {
          nll -= logp[b * T + t]!;
          count++;
        }
      });
    });
  }
  return count ? nll / count : NaN;
}

/** Whether `output` has the same calls as `target` (or, for a reply, the same text). */
export function callsMatch(target: string, output: string): boolean {
  const a = parseAssistantText(target);
  const b = parseAssistantText(output);
  if (a.calls) {
    return b.calls !== null && a.calls.length === b.calls.length &&
      a.calls.every((c, i) => c === b.calls![i]);
  }
  const norm = (s: string) => s.replace(/\s+/g, " ").trim();
  return b.calls === null && norm(a.rest) === norm(b.rest);
}

/** One decoded example. */
export interface DecodedExample {
  readonly id: string;
  readonly target: string;
  readonly output: string;
  readonly match: boolean;
}

/** Exact-match figures of one evaluation. */
export interface ExactMatchResult {
  /** Fraction of examples whose calls match. */
  readonly exactMatch: number;
  /** Fraction of outputs with a progress block and a call list or reply. */
  readonly formatValid: number;
  readonly count: number;
  readonly examples: DecodedExample[];
}

/** Options of evaluateExactMatch(). */
export interface ExactMatchOptions {
  /** Generation stops after this many tokens (or at `<|end|>`, or at blockSize). */
  readonly maxNewTokens: number;
  /** ORT intra-op threads. */
  readonly threads?: number;
}

/** Greedy-decodes each row's prompt with the KV cache and compares calls with the target. */
export async function evaluateExactMatch(
  config: ModelConfig,
  weights: Weights,
  template: TurnTemplate,
  rows: readonly EncodedExample[],
  opts: ExactMatchOptions,
): Promise<ExactMatchResult> {
  const decoder = await Decoder.create(config, {
    weights,
    intraOpNumThreads: opts.threads ?? 1,
  });
  const V = config.vocabSize;
  const examples: DecodedExample[] = [];
  let valid = 0;
  try {
    for (const row of rows) {
      const out: number[] = [];
      if (row.prompt.length < config.blockSize) {
        let state = decoder.emptyState(1);
        let feed: number[] = row.prompt;
        while (out.length < opts.maxNewTokens && state.length + feed.length <= config.blockSize) {
          const r = await decoder.step(state, feed);
          state = r.state;
          const logits = r.logits.data as Float32Array;
          const off = (feed.length - 1) * V;
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + best]!) best = v;
          if (best === template.endId) break;
          out.push(best);
          feed = [best];
        }
      }
      const output = template.tokenizer.decode(out);
      const parts = parseAssistantText(output);
      if (parts.progress !== null && (parts.calls !== null || parts.rest.length > 0)) valid++;
      const target = row.example.target;
      examples.push({ id: row.example.id, target, output, match: callsMatch(target, output) });
    }
  } finally {
    await decoder.dispose();
  }
  const n = examples.length;
  return {
    exactMatch: n ? examples.filter((e) => e.match).length / n : NaN,
    formatValid: n ? valid / n : NaN,
    count: n,
    examples,
  };
}
