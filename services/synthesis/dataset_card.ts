/**
 * The dataset card: counts, turns, prompt lengths per turn in each context mode (byte-level:
 * UTF-8 bytes of the prompt as the turn template renders it), split statistics and the drop rate.
 * @module
 */
import type { DatasetEvent, EndpointStats } from "./dataset.ts";
import type { WriterStats } from "./llm_writer.ts";
import { promptBytes } from "./sft_samples.ts";

/** The card's statistics (also its JSON). */
export interface DatasetCard {
  readonly taskCount: number;
  readonly sampleCount: number;
  readonly droppedCount: number;
  readonly dropRate: number;
  readonly splits: Record<string, {
    tasks: number;
    samples: Record<string, number>;
    turns: number;
    families: Record<string, number>;
    entities: number;
  }>;
  readonly turnsHistogram: Record<string, number>;
  readonly meanTurns: number;
  readonly classes: Record<string, number>;
  readonly intents: Record<string, number>;
  readonly missParamTurns: number;
  readonly missFuncTurns: number;
  readonly longContextTasks: number;
  /** Mean prompt bytes of the first step of turn N (1-based), per mode. */
  readonly meanPromptBytesByTurn: Record<string, Record<string, number>>;
  readonly meanTargetBytes: number;
  readonly lengthUnit: string;
  readonly dropReasons: Record<string, number>;
  /** Present only when an LLM writer was used. */
  readonly writer?: WriterStats;
  /** Present only when the model-aware check ran: steps checked, failed, tasks dropped. */
  readonly modelCheck?: { steps: number; failed: number; droppedTasks: number; dropRate: number };
}

function inc(m: Record<string, number>, k: string, by = 1): void {
  m[k] = (m[k] ?? 0) + by;
}

/** Accumulates build events into a card. */
export class DatasetCardBuilder {
  #tasks = 0;
  #samples = 0;
  #dropped = 0;
  #turns = 0;
  #targetBytes = 0;
  #splits: DatasetCard["splits"] = {};
  #hist: Record<string, number> = {};
  #classes: Record<string, number> = {};
  #intents: Record<string, number> = {};
  #missParam = 0;
  #missFunc = 0;
  #long = 0;
  #promptSum: Record<string, Record<string, number>> = {};
  #promptN: Record<string, Record<string, number>> = {};
  #reasons: Record<string, number> = {};
  #entities: Record<string, Set<string>> = {};

  #endpoints?: { stats: EndpointStats; writer: boolean; policy: boolean };

  /** Reports what the writer and the model-aware check did (only the sections that ran). */
  setEndpointStats(stats: EndpointStats, used: { writer: boolean; policy: boolean }): void {
    this.#endpoints = { stats, ...used };
  }

  /** Adds one event; a task counts under `split` (default its own; `rl` for RL-only tasks). */
  add(ev: DatasetEvent, split?: string): void {
    if (ev.kind === "dropped") {
      this.#dropped++;
      for (const r of new Set(ev.reasons.map((r) => r.replace(/["'`][^"'`]*["'`]|\d+/g, "…")))) {
        inc(this.#reasons, r);
      }
      return;
    }
    const t = ev.task;
    this.#tasks++;
    this.#turns += t.turns.length;
    const key = split ?? t.split;
    const s = this.#splits[key] ??= {
      tasks: 0,
      samples: {},
      turns: 0,
      families: {},
      entities: 0,
    };
    s.tasks++;
    s.turns += t.turns.length;
    inc(s.families, t.family);
    const ents = this.#entities[key] ??= new Set();
    for (const e of t.entities) ents.add(e);
    s.entities = ents.size;
    inc(this.#hist, String(t.turns.length));
    for (const c of t.classes) inc(this.#classes, c);
    for (const turn of t.turns) {
      if (turn.clarify) this.#missParam++;
      if (turn.lacks) this.#missFunc++;
      if (turn.calls.length > 0) inc(this.#intents, turn.intent);
    }
    if (t.longContext) this.#long++;
    for (const sample of ev.samples) {
      this.#samples++;
      inc(s.samples, sample.mode);
      if (sample.mode === "full") {
        this.#targetBytes += new TextEncoder().encode(sample.target).length;
      }
      if (sample.stepIndex !== 0) continue;
      const key = String(sample.turnIndex + 1);
      inc(this.#promptSum[sample.mode] ??= {}, key, promptBytes(sample));
      inc(this.#promptN[sample.mode] ??= {}, key);
    }
  }

  /** The card so far. */
  card(): DatasetCard {
    const means: Record<string, Record<string, number>> = {};
    for (const [mode, sums] of Object.entries(this.#promptSum)) {
      means[mode] = {};
      for (const [k, v] of Object.entries(sums)) {
        means[mode]![k] = Math.round(v / this.#promptN[mode]![k]!);
      }
    }
    const fullSamples = Object.values(this.#splits).reduce((a, s) => a + (s.samples.full ?? 0), 0);
    const total = this.#tasks + this.#dropped;
    return {
      taskCount: this.#tasks,
      sampleCount: this.#samples,
      droppedCount: this.#dropped,
      dropRate: total === 0 ? 0 : Number((this.#dropped / total).toFixed(4)),
      splits: this.#splits,
      turnsHistogram: this.#hist,
      meanTurns: this.#tasks === 0 ? 0 : Number((this.#turns / this.#tasks).toFixed(3)),
      classes: this.#classes,
      intents: this.#intents,
      missParamTurns: this.#missParam,
      missFuncTurns: this.#missFunc,
      longContextTasks: this.#long,
      meanPromptBytesByTurn: means,
      meanTargetBytes: fullSamples === 0 ? 0 : Math.round(this.#targetBytes / fullSamples),
      lengthUnit: "UTF-8 bytes of the turn-template prompt (fixed byte-level count)",
      dropReasons: this.#reasons,
      ...this.#endpointSections(),
    };
  }

  #endpointSections(): Pick<DatasetCard, "writer" | "modelCheck"> {
    const e = this.#endpoints;
    if (!e) return {};
    const m = e.stats.modelCheck;
    return {
      ...(e.writer ? { writer: e.stats.writer } : {}),
      ...(e.policy
        ? {
          modelCheck: {
            ...m,
            dropRate: m.steps === 0 ? 0 : Number((m.failed / m.steps).toFixed(4)),
          },
        }
        : {}),
    };
  }
}

/** The card as Markdown. */
export function cardMarkdown(c: DatasetCard): string {
  const turns = Object.keys(c.meanPromptBytesByTurn.full ?? {}).sort((a, b) =>
    Number(a) - Number(b)
  );
  const rows = turns.map((t) =>
    `| ${t} | ${c.meanPromptBytesByTurn.full?.[t] ?? "-"} | ${
      c.meanPromptBytesByTurn.progress?.[t] ?? "-"
    } |`
  );
  return [
    "# Synthetic PAG curriculum: dataset card",
    "",
    `Tasks ${c.taskCount} (dropped ${c.droppedCount}, drop rate ${c.dropRate}), samples ${c.sampleCount}, ` +
    `mean turns ${c.meanTurns}, miss_param turns ${c.missParamTurns}, miss_func turns ${c.missFuncTurns}, ` +
    `long-context tasks ${c.longContextTasks}.`,
    "",
    "| split | tasks | turns | samples | families | entity values |",
    "| --- | --- | --- | --- | --- | --- |",
    ...Object.entries(c.splits).map(([k, s]) =>
      `| ${k} | ${s.tasks} | ${s.turns} | ${JSON.stringify(s.samples)} | ${
        Object.keys(s.families).sort().join(" ")
      } | ${s.entities} |`
    ),
    "",
    `Mean prompt length at the first step of each turn (${c.lengthUnit}):`,
    "",
    "| turn | full | progress |",
    "| --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}
