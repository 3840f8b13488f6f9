/**
 * SFT samples of an annotated task in both context modes: `full` (the whole transcript before the
 * step) and `progress` (the latest progress block and the messages since it).
 * @module
 */
import { functionDocs, HOLDOUT_MESSAGE } from "@parlmt/bfcl";
import { compactToolDoc, jinjaToJson } from "@parlmt/tokenizer";
import type { Annotation } from "./annotate.ts";
import type { SynthTask } from "./generate_tasks.ts";

/** A context mode. */
export type ContextModeName = "full" | "progress";

/** One chat message (plain). */
export interface PlainMessage {
  readonly role: "system" | "user" | "assistant" | "tool";
  readonly content: string;
  /** The function name (tool messages). */
  readonly name?: string;
}

/** One compact tool doc (description cut to its first sentence, no per-argument prose). */
export interface PlainTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  readonly className: string;
}

/** One sample (the proto's SftSample, plain). */
export interface PlainSample {
  readonly id: string;
  readonly taskId: string;
  readonly turnIndex: number;
  readonly stepIndex: number;
  readonly mode: ContextModeName;
  readonly split: string;
  readonly tools: readonly PlainTool[];
  readonly context: readonly PlainMessage[];
  readonly target: string;
}

/** The compact tools of `classes` visible at `turn` (held-out functions appear when revealed). */
export function visibleTools(
  classes: readonly string[],
  missed: Readonly<Record<string, readonly string[]>>,
  turn: number,
): PlainTool[] {
  const heldUntil = new Map<string, number>();
  for (const [t, names] of Object.entries(missed)) {
    for (const n of names) heldUntil.set(n, Number(t));
  }
  const out: PlainTool[] = [];
  for (const cls of classes) {
    for (const doc of functionDocs(cls)) {
      const t = heldUntil.get(doc.name);
      if (t !== undefined && t > turn) continue;
      out.push({ ...compactToolDoc(doc), className: cls });
    }
  }
  return out;
}

/** One annotated step, as the sample builder reads it. */
export interface SampleStep {
  readonly turn: number;
  readonly step: number;
  readonly target: string;
  readonly calls: readonly string[];
  readonly results: readonly string[];
}

/** What {@linkcode buildSamples} needs to know of a task. */
export interface SampleSource {
  readonly id: string;
  readonly split: string;
  readonly steps: readonly SampleStep[];
  /** Messages that open the context in both modes (e.g. a domain policy). */
  readonly system?: readonly PlainMessage[];
  /** The user messages that open `turn`. */
  userMessages(turn: number): readonly string[];
  /** The tools visible at `turn`. */
  tools(turn: number): readonly PlainTool[];
}

/**
 * Samples of annotated steps in the given modes. `full`: the whole transcript before the step;
 * `progress`: from the latest assistant message (its block) on; before any, the whole transcript.
 */
export function buildSamples(src: SampleSource, modes: readonly ContextModeName[]): PlainSample[] {
  const system = src.system ?? [];
  const out: PlainSample[] = [];
  const transcript: PlainMessage[] = [];
  let lastAssistant = -1;
  let turn = -1;
  for (const step of src.steps) {
    if (step.turn !== turn) {
      turn = step.turn;
      for (const content of src.userMessages(turn)) transcript.push({ role: "user", content });
    }
    const tools = src.tools(turn);
    for (const mode of modes) {
      const context = mode === "full" ? transcript : transcript.slice(Math.max(lastAssistant, 0));
      out.push({
        id: `${src.id}:t${turn}:s${step.step}:${mode}`,
        taskId: src.id,
        turnIndex: turn,
        stepIndex: step.step,
        mode,
        split: src.split,
        tools,
        context: [...system, ...context],
        target: step.target,
      });
    }
    lastAssistant = transcript.length;
    transcript.push({ role: "assistant", content: step.target });
    step.calls.forEach((c, i) => {
      transcript.push({
        role: "tool",
        content: step.results[i]!,
        name: c.slice(0, c.indexOf("(")),
      });
    });
  }
  return out;
}

/** The samples of one annotated task (both modes unless `modes` says otherwise). */
export function taskSamples(
  task: SynthTask,
  annotation: Annotation,
  modes: readonly ContextModeName[] = ["full", "progress"],
): PlainSample[] {
  return buildSamples({
    id: task.id,
    split: task.split,
    steps: annotation.steps,
    userMessages: (turn) => {
      const user = task.turns[turn]!.user;
      return user.length > 0 ? user : [HOLDOUT_MESSAGE];
    },
    tools: (turn) => visibleTools(task.classes, task.missedFunction, turn),
  }, modes);
}

/** Bytes of the prompt as the turn template renders it (a fixed byte-level length measure). */
export function promptBytes(sample: PlainSample): number {
  let text = "<|system|># Tools";
  for (const t of sample.tools) {
    text += "\n" +
      jinjaToJson({ name: t.name, description: t.description, parameters: t.parameters });
  }
  text += "<|end|>";
  for (const m of sample.context) text += `<|${m.role}|>${m.content}<|end|>`;
  text += "<|assistant|>";
  return new TextEncoder().encode(text).length;
}
