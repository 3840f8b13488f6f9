/**
 * `deno run -A services/synthesis/taubench_synth.ts --taubench DOMAIN --out DIR`: annotates the
 * gold trajectories of a τ-bench domain with verified progress blocks and writes
 * `tasks/<split>.jsonl` (parlmt.v1.Task), `full/` and `progress/` `<split>.jsonl`
 * (parlmt.v1.SftSample in proto3 JSON, loadable by the SFT trainer, which reads `train.jsonl`
 * and `test.jsonl`) and `report.json` (counts and drop rates; tasks whose blocks do not verify
 * are dropped and listed). Same input, byte-identical files.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { SftSampleSchema } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { checkSplit, type Domain, type Split, SPLITS } from "../env-simulator/taubench/mod.ts";
import type { ContextModeName } from "./sft_samples.ts";
import { annotateTauSplit, type TauSplitReport } from "./taubench_annotate.ts";
import { tauSampleToProto, tauTaskSamples, tauTaskToProto } from "./taubench_samples.ts";

const HELP = `Usage: deno run -A services/synthesis/taubench_synth.ts --taubench DOMAIN --out DIR
  --taubench DOMAIN   retail or airline (required)
  --out DIR           output directory (required)
  --split S           one split (default: all of the domain's: retail test,train,dev; airline test)
  --modes M           context modes, comma-separated (default full,progress)
  --no-policy         leave the domain policy (system message) out of the samples`;

/** What the CLI was asked for. */
export interface TauSynthRequest {
  readonly domain: Domain;
  readonly splits: readonly Split[];
  readonly modes: readonly ContextModeName[];
  readonly policy: boolean;
}

/** Parses the flags; throws RangeError naming the flag. */
export function parseTauSynthArgs(args: string[]): { out: string; req: TauSynthRequest } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      taubench: { type: "string" },
      out: { type: "string" },
      split: { type: "string" },
      modes: { type: "string", default: "full,progress" },
      "no-policy": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) throw new RangeError(HELP);
  if (!values.taubench) throw new RangeError(`Missing flag "--taubench"\n${HELP}`);
  if (!values.out) throw new RangeError(`Missing flag "--out"\n${HELP}`);
  const domain = values.taubench;
  if (domain !== "retail" && domain !== "airline") {
    throw new RangeError(`Invalid flag "--taubench": expected retail or airline, got "${domain}"`);
  }
  let splits: readonly Split[] = SPLITS[domain];
  if (values.split !== undefined) {
    try {
      checkSplit(domain, values.split);
    } catch (err) {
      throw new RangeError(`Invalid flag "--split": ${(err as Error).message}`);
    }
    splits = [values.split as Split];
  }
  const modes = values.modes.split(",").filter(Boolean);
  if (modes.length === 0 || modes.some((m) => m !== "full" && m !== "progress")) {
    throw new RangeError(
      `Invalid flag "--modes": expected full and/or progress, got "${values.modes}"`,
    );
  }
  return {
    out: values.out,
    req: {
      domain,
      splits,
      modes: [...new Set(modes)] as ContextModeName[],
      policy: !values["no-policy"],
    },
  };
}

/** The report written to `report.json`. */
export interface TauSynthReport {
  readonly domain: Domain;
  readonly splits: Readonly<Record<string, Omit<TauSplitReport, "dropped">>>;
  readonly tasks: number;
  readonly verifiedTasks: number;
  readonly blocks: number;
  readonly failedBlocks: number;
  readonly samples: number;
  readonly dropRate: number;
  readonly dropped: Readonly<Record<string, readonly string[]>>;
}

/** The output files (path relative to the output directory → contents) and the report. */
export function tauSynthFiles(req: TauSynthRequest): {
  files: Map<string, string>;
  report: TauSynthReport;
} {
  const files = new Map<string, string>();
  const splits: Record<string, Omit<TauSplitReport, "dropped">> = {};
  const dropped: Record<string, readonly string[]> = {};
  let samples = 0;
  for (const split of req.splits) {
    const tasks: string[] = [];
    const byMode: Record<string, string[]> = Object.fromEntries(req.modes.map((m) => [m, []]));
    const r = annotateTauSplit(req.domain, split, (t) => {
      if (!t.verification.ok) return;
      tasks.push(toJsonString(TaskSchema, tauTaskToProto(t.annotation)) + "\n");
      for (const s of tauTaskSamples(t.annotation, { modes: req.modes, policy: req.policy })) {
        byMode[s.mode]!.push(toJsonString(SftSampleSchema, tauSampleToProto(s)) + "\n");
        samples++;
      }
    });
    const { dropped: d, ...counts } = r;
    splits[split] = counts;
    Object.assign(dropped, d);
    files.set(`tasks/${split}.jsonl`, tasks.join(""));
    for (const m of req.modes) files.set(`${m}/${split}.jsonl`, byMode[m]!.join(""));
  }
  const sum = (f: (r: Omit<TauSplitReport, "dropped">) => number) =>
    Object.values(splits).reduce((a, r) => a + f(r), 0);
  const tasks = sum((r) => r.tasks);
  const verifiedTasks = sum((r) => r.verifiedTasks);
  const report: TauSynthReport = {
    domain: req.domain,
    splits,
    tasks,
    verifiedTasks,
    blocks: sum((r) => r.blocks),
    failedBlocks: sum((r) => r.failedBlocks),
    samples,
    dropRate: tasks === 0 ? 0 : (tasks - verifiedTasks) / tasks,
    dropped,
  };
  files.set("report.json", JSON.stringify(report, null, 2) + "\n");
  return { files, report };
}

/** Builds and writes the files under `out`; returns the report. */
export async function runTauSynth(out: string, req: TauSynthRequest): Promise<TauSynthReport> {
  const { files, report } = tauSynthFiles(req);
  for (const [path, text] of files) {
    await Deno.mkdir(join(out, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(out, path), text);
  }
  return report;
}

if (import.meta.main) {
  try {
    const { out, req } = parseTauSynthArgs(Deno.args);
    const start = performance.now();
    const r = await runTauSynth(out, req);
    console.log(JSON.stringify({
      out,
      domain: r.domain,
      tasks: r.tasks,
      verifiedTasks: r.verifiedTasks,
      blocks: r.blocks,
      failedBlocks: r.failedBlocks,
      samples: r.samples,
      dropRate: r.dropRate,
      seconds: Number(((performance.now() - start) / 1000).toFixed(2)),
    }));
  } catch (err) {
    console.error(err instanceof RangeError ? err.message : err);
    Deno.exit(2);
  }
}
