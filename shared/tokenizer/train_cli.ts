/**
 * Trains the built-in model's tokenizer and writes `tokenizer.json` (Hugging Face format) and
 * `tokenizer_config.json` (chat template, special tokens) next to it.
 *
 *   deno run -A shared/tokenizer/train_cli.ts --corpus a.txt b.jsonl --vocab-size 512 \
 *     --out tokenizer.json
 *
 * A `.jsonl` corpus file contributes every string value of every line's JSON object; any other
 * file contributes its text.
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { TurnTemplate } from "./turn_template.ts";
import { trainTurnTokenizer } from "./train_turn_tokenizer.ts";

/** What trainTokenizerCli() wrote. */
export interface TrainTokenizerSummary {
  readonly out: string;
  readonly configOut: string;
  readonly vocabSize: number;
  readonly numMerges: number;
  readonly numTexts: number;
}

const USAGE =
  "Usage: train_cli.ts --corpus FILE... --vocab-size N --out tokenizer.json [--min-frequency N]";

function stringsOf(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) { for (const v of value) stringsOf(v, out); }
  else if (value && typeof value === "object") {
    for (const v of Object.values(value)) stringsOf(v, out);
  }
}

async function readCorpus(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new RangeError(`Cannot read corpus file "${path}": not found`, { cause: err });
    }
    throw err;
  }
  if (!path.endsWith(".jsonl")) return [text];
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      stringsOf(JSON.parse(line), out);
    } catch (err) {
      throw new SyntaxError(`Cannot parse corpus file "${path}" line ${i + 1}: invalid JSON`, {
        cause: err,
      });
    }
  });
  return out;
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot use --${flag} "${raw}": must be a positive integer`);
  }
  return n;
}

/** Parses `args`, trains and writes the files; throws RangeError/SyntaxError on bad input. */
export async function trainTokenizerCli(args: readonly string[]): Promise<TrainTokenizerSummary> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      corpus: { type: "string", multiple: true },
      "vocab-size": { type: "string" },
      "min-frequency": { type: "string" },
      out: { type: "string" },
    },
  });
  const corpus = [...(values.corpus ?? []), ...positionals];
  if (corpus.length === 0) {
    throw new RangeError(`Cannot train tokenizer: no --corpus files. ${USAGE}`);
  }
  if (!values.out) throw new RangeError(`Cannot train tokenizer: missing --out. ${USAGE}`);
  const vocabSize = positiveInt("vocab-size", values["vocab-size"], 512);
  const minFrequency = positiveInt("min-frequency", values["min-frequency"], 2);
  const texts = (await Promise.all(corpus.map(readCorpus))).flat();
  const tok = trainTurnTokenizer(texts, { vocabSize, minFrequency });
  const configOut = join(dirname(values.out), "tokenizer_config.json");
  await Deno.writeTextFile(values.out, JSON.stringify(tok.toJSON()));
  await Deno.writeTextFile(configOut, JSON.stringify(TurnTemplate.tokenizerConfig(), null, 2));
  return {
    out: values.out,
    configOut,
    vocabSize: tok.size,
    numMerges: tok.merges.length,
    numTexts: texts.length,
  };
}

if (import.meta.main) {
  try {
    const s = await trainTokenizerCli(Deno.args);
    console.log(JSON.stringify(s));
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
