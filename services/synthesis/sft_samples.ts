/**
 * SFT samples of an annotated task in both context modes: `full` (the whole transcript before the
 * step) and `progress` (the latest progress block and the messages since it).
 * @module
 */
import { functionDocs, HOLDOUT_MESSAGE, listedFunctionDocs } from "@parlmt/bfcl";
import { compactToolDoc, jinjaToJson, type ToolDocStyle } from "@parlmt/tokenizer";
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

/** How tools are listed: the subset offered (absent: all) and the doc style (`brief`). */
export interface ToolListing {
  readonly offered?: readonly string[];
  readonly style?: ToolDocStyle;
}

/**
 * The compact tools of `classes` visible at `turn`, as the env-simulator lists them (held-out
 * functions appear when revealed, after the others; only the offered ones when given).
 */
export function visibleTools(
  classes: readonly string[],
  missed: Readonly<Record<string, readonly string[]>>,
  turn: number,
  listing: ToolListing = {},
): PlainTool[] {
  const held = new Map(Object.entries(missed).map(([t, names]) => [Number(t), names]));
  const offered = listing.offered?.length ? new Set(listing.offered) : undefined;
  const classOf = new Map<string, string>();
  return listedFunctionDocs(classes, held, turn, offered).map((doc) => {
    if (!classOf.size) {
      for (const cls of classes) for (const d of functionDocs(cls)) classOf.set(d.name, cls);
    }
    return { ...compactToolDoc(doc, listing.style), className: classOf.get(doc.name) ?? "" };
  });
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
  style?: ToolDocStyle,
): PlainSample[] {
  return buildSamples({
    id: task.id,
    split: task.split,
    steps: annotation.steps,
    userMessages: (turn) => {
      const user = task.turns[turn]!.user;
      return user.length > 0 ? user : [HOLDOUT_MESSAGE];
    },
    tools: (turn) =>
      visibleTools(task.classes, task.missedFunction, turn, { offered: task.offered, style }),
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
