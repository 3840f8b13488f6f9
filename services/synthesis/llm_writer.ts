/**
 * The optional LLM writer: an OpenAI-compatible endpoint paraphrases the user turns and rewrites
 * the summary lines of the progress blocks. Nothing it writes is trusted: a paraphrase must keep
 * every entity value the ground truth takes from the user's words (and read as prose), else the
 * template text stays; the paraphrased task must still annotate and verify, else the template text
 * stays; a rewritten summary must pass `verifyStep` exactly like the annotator's, else the
 * annotator's block stays. Every rejection is counted (the dataset card's `writer` section).
 * Off by default: without a writer the build is deterministic per seed.
 * @module
 */
import { parseCall } from "@parlmt/bfcl";
import {
  annotate,
  type AnnotatedStep,
  type AnnotateOptions,
  type Annotation,
  renderProgress,
} from "./annotate.ts";
import type { SynthTask } from "./generate_tasks.ts";
import { chatText, type Endpoint } from "./openai_endpoint.ts";
import { callArgs, exprLeaves, inText, type TraceInput } from "./trace.ts";
import { verifyAnnotation, type VerifyContext, verifyStep } from "./verify.ts";

/** What the writer did (summed over a build). */
export interface WriterStats {
  paraphrasesTried: number;
  paraphrasesAccepted: number;
  paraphrasesRejected: number;
  summariesTried: number;
  summariesAccepted: number;
  summariesDropped: number;
  /** Rejection reasons (values elided) → count. */
  reasons: Record<string, number>;
}

/** Empty stats. */
export function emptyWriterStats(): WriterStats {
  return {
    paraphrasesTried: 0,
    paraphrasesAccepted: 0,
    paraphrasesRejected: 0,
    summariesTried: 0,
    summariesAccepted: 0,
    summariesDropped: 0,
    reasons: {},
  };
}

/** Adds `b` into `a`. */
export function addWriterStats(a: WriterStats, b: WriterStats): void {
  a.paraphrasesTried += b.paraphrasesTried;
  a.paraphrasesAccepted += b.paraphrasesAccepted;
  a.paraphrasesRejected += b.paraphrasesRejected;
  a.summariesTried += b.summariesTried;
  a.summariesAccepted += b.summariesAccepted;
  a.summariesDropped += b.summariesDropped;
  for (const [k, v] of Object.entries(b.reasons)) a.reasons[k] = (a.reasons[k] ?? 0) + v;
}

const PARAPHRASE_PROMPT =
  "Rewrite the user's request below in different words, as the same user would say it. Keep " +
  "every name, number, file name, path, id and quoted value exactly as written. Answer with the " +
  "rewritten request only.";

const SUMMARY_PROMPT = "Rewrite the progress summary of a function-calling agent below. Keep " +
  "one line per item and the exact line formats `turn N: names`, `done: call -> key=value, ...`, " +
  "`fact: function.key=value`; claim nothing that is not in the lines. Answer with the lines only.";

/** The values that ground-truth calls (of this turn and later ones) take from a user message. */
export function requiredValues(message: string, calls: readonly string[]): string[] {
  const out = new Set<string>();
  for (const c of calls) {
    for (const v of callArgs(parseCall(c)).flatMap(exprLeaves)) {
      if (inText(v, [message])) out.add(v);
    }
  }
  return [...out];
}

/** Why a paraphrase is rejected (null: accepted). */
export function paraphraseProblem(
  original: string,
  candidate: string,
  required: readonly string[],
): string | null {
  const t = candidate.trim();
  if (t.length === 0) return "paraphrase is empty";
  if (/<\|?\/?[a-z_|]+\|?>|\[\w+\(/.test(t)) return "paraphrase contains markup or calls";
  if (t.length < original.length * 0.3 || t.length > original.length * 3 + 40) {
    return "paraphrase length is out of range";
  }
  const words = t.split(/\s+/).filter((w) => /^[\p{L}'’-]{2,}[.,!?;:]?$/u.test(w)).length;
  if (words < 3 || words < t.split(/\s+/).length * 0.5) return "paraphrase is not prose";
  if (t === original.trim()) return "paraphrase is the original text";
  for (const v of required) {
    if (!inText(v, [t])) return `paraphrase drops the value "${v}"`;
  }
  return null;
}

/** A written summary for `step`: its lines, the block with the step's plan, the verdict. */
export function judgeSummary(ctx: VerifyContext, step: AnnotatedStep, text: string) {
  const summary = text.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const block = renderProgress(summary, step.progress.plan);
  const verdict = summary.length === 0
    ? { ok: false, reasons: ["written summary is empty"] }
    : verifyStep(ctx, step, block);
  return { summary, block, verdict };
}

function note(stats: WriterStats, reason: string): void {
  const k = reason.replace(/["'`][^"'`]*["'`]|\d+/g, "…");
  stats.reasons[k] = (stats.reasons[k] ?? 0) + 1;
}

/** The writer: one endpoint, stats per call. */
export class LlmWriter {
  constructor(readonly endpoint: Endpoint) {}

  /** Paraphrases the user turns of a task; keeps the template text where a paraphrase fails. */
  async paraphraseTask(task: SynthTask, stats: WriterStats): Promise<SynthTask> {
    const turns = [];
    for (const [ti, turn] of task.turns.entries()) {
      // Values of this turn's and later turns' calls that this turn's words carry.
      const later = task.turns.slice(ti).flatMap((t) => t.calls);
      const user: string[] = [];
      for (const message of turn.user) {
        stats.paraphrasesTried++;
        const text = await chatText(this.endpoint, [
          { role: "system", content: PARAPHRASE_PROMPT },
          { role: "user", content: message },
        ], { maxTokens: 160, field: "writer_url" });
        const candidate = text.trim().replace(/^"([\s\S]*)"$/, "$1");
        const problem = paraphraseProblem(message, candidate, requiredValues(message, later));
        if (problem) {
          stats.paraphrasesRejected++;
          note(stats, problem);
          user.push(message);
        } else {
          stats.paraphrasesAccepted++;
          user.push(candidate);
        }
      }
      turns.push({ ...turn, user });
    }
    return { ...task, turns };
  }

  /**
   * Paraphrases, then checks the paraphrased task annotates and verifies: if not, every accepted
   * paraphrase of the task is taken back (counted) and the template task is returned.
   */
  async writeTask(
    task: SynthTask,
    toInput: (t: SynthTask) => TraceInput,
    opts: AnnotateOptions,
    stats: WriterStats,
  ): Promise<SynthTask> {
    const local = emptyWriterStats();
    const written = await this.paraphraseTask(task, local);
    if (local.paraphrasesAccepted > 0) {
      const input = toInput(written);
      let reasons: string[];
      try {
        reasons = verifyAnnotation(annotate(input, opts), input.user).flatMap((v) => v.reasons);
      } catch (err) {
        reasons = [(err as Error).message];
      }
      if (reasons.length > 0) {
        local.paraphrasesRejected += local.paraphrasesAccepted;
        local.reasons["paraphrased task does not verify"] = local.paraphrasesAccepted;
        local.paraphrasesAccepted = 0;
        addWriterStats(stats, local);
        return task;
      }
    }
    addWriterStats(stats, local);
    return written;
  }

  /** Rewrites summaries step by step; a summary that does not verify is dropped (kept as is). */
  async writeSummaries(
    annotation: Annotation,
    user: readonly (readonly string[])[],
    stats: WriterStats,
  ): Promise<Annotation> {
    const ctx = { trace: annotation.trace, user };
    const steps: AnnotatedStep[] = [];
    for (const s of annotation.steps) {
      if (s.progress.summary.length === 0) {
        steps.push(s);
        continue;
      }
      stats.summariesTried++;
      const text = await chatText(this.endpoint, [
        { role: "system", content: SUMMARY_PROMPT },
        { role: "user", content: s.progress.summary.join("\n") },
      ], { maxTokens: 256, field: "writer_url" });
      const { summary, block, verdict } = judgeSummary(ctx, s, text);
      if (!verdict.ok) {
        stats.summariesDropped++;
        for (const r of new Set(verdict.reasons)) note(stats, `summary: ${r}`);
        steps.push(s);
        continue;
      }
      stats.summariesAccepted++;
      const tail = s.target.slice(s.progress.text.length);
      steps.push({
        ...s,
        progress: { summary, plan: s.progress.plan, text: block },
        target: block + tail,
      });
    }
    return { ...annotation, steps };
  }
}
