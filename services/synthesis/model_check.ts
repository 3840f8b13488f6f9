/**
 * The model-aware check (PARL-MT's PAG verification, second half): given only the tools, a block
 * and the current turn's user message(s) in the `progress` context format (the turn's user
 * messages, then the block as the latest assistant message), the policy must write the step's
 * ground-truth call (or a plain reply at a reply step). Blocks whose call the policy cannot
 * reproduce are dropped; the verdicts and the drop rate are reported.
 * @module
 */
import { parseCall, renderCall } from "@parlmt/bfcl";
import { parseAssistantText } from "@parlmt/tokenizer";
import type { Annotation } from "./annotate.ts";
import { type ChatMsg, chatText, type ChatTool, type Endpoint } from "./openai_endpoint.ts";
import type { PlainTool } from "./sft_samples.ts";
import type { BlockVerdict } from "./verify.ts";

/** One step to check. */
export interface CheckStep {
  readonly turn: number;
  readonly step: number;
  /** The block text (`<progress>…</progress>`). */
  readonly block: string;
  /** The current turn's user messages. */
  readonly user: readonly string[];
  readonly tools: readonly ChatTool[];
  /** The ground-truth call of the step, or null at a reply step. */
  readonly expected: string | null;
}

/** The outcome of a check run. */
export interface ModelCheckReport {
  readonly verdicts: readonly BlockVerdict[];
  /** The raw answers, for inspection. */
  readonly answers: readonly string[];
  readonly failed: number;
  readonly dropRate: number;
}

/** The messages sent for a step. */
export function checkMessages(s: CheckStep): ChatMsg[] {
  return [
    ...s.user.map((content) => ({ role: "user" as const, content })),
    { role: "assistant" as const, content: s.block },
  ];
}

/** Compact tools as sent. */
export function chatTools(tools: readonly PlainTool[]): ChatTool[] {
  return tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(t.length > 80 ? t.slice(0, 80) + "…" : t);
}

/** Judges an answer: the call list after the block must start with the ground-truth call. */
export function judgeAnswer(text: string, expected: string | null): BlockVerdict {
  const parts = parseAssistantText(text);
  if (expected === null) {
    return parts.calls && parts.calls.length > 0
      ? { ok: false, reasons: [`model-aware: a call list where the turn ends: ${snippet(text)}`] }
      : { ok: true, reasons: [] };
  }
  if (!parts.calls || parts.calls.length === 0) {
    return {
      ok: false,
      reasons: [`model-aware: no call list after the progress block: ${snippet(text)}`],
    };
  }
  let got: string;
  try {
    got = renderCall(parseCall(parts.calls[0]!));
  } catch (err) {
    return {
      ok: false,
      reasons: [`model-aware: the call does not parse: ${(err as Error).message}`],
    };
  }
  const want = renderCall(parseCall(expected));
  return got === want ? { ok: true, reasons: [] } : {
    ok: false,
    reasons: [`model-aware: the policy called ${got}, the ground truth is ${want}`],
  };
}

/** The steps of an annotation to check (`tools(turn)`: the tools visible at a turn). */
export function annotationCheckSteps(
  annotation: Annotation,
  user: readonly (readonly string[])[],
  tools: (turn: number) => readonly ChatTool[],
): CheckStep[] {
  return annotation.steps.map((s) => ({
    turn: s.turn,
    step: s.step,
    block: s.progress.text,
    user: user[s.turn] ?? [],
    tools: tools(s.turn),
    expected: s.calls[0] ?? null,
  }));
}

/** Runs the check on every step (a few requests in flight); endpoint failures throw. */
export async function modelCheck(
  ep: Endpoint,
  steps: readonly CheckStep[],
  opts: { concurrency?: number; maxTokens?: number; field?: string } = {},
): Promise<ModelCheckReport> {
  const verdicts: BlockVerdict[] = new Array(steps.length);
  const answers: string[] = new Array(steps.length);
  let next = 0;
  const worker = async () => {
    while (next < steps.length) {
      const i = next++;
      const s = steps[i]!;
      const text = await chatText(ep, checkMessages(s), {
        tools: s.tools,
        maxTokens: opts.maxTokens ?? 192,
        field: opts.field ?? "policy_url",
      });
      answers[i] = text;
      verdicts[i] = judgeAnswer(text, s.expected);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 4, steps.length));
  await Promise.all(Array.from({ length: n }, worker));
  const failed = verdicts.filter((v) => !v.ok).length;
  return {
    verdicts,
    answers,
    failed,
    dropRate: steps.length === 0 ? 0 : Number((failed / steps.length).toFixed(4)),
  };
}
