/**
 * SFT data: a directory with `train.jsonl` and `test.jsonl` (one `parlmt.v1.SftSample` per line
 * in proto3 JSON) and optionally `tokenizer.json`, loaded into plain turn-template examples; and
 * their encoding into padded `[B, T]` rows for the trainer's fixed shapes (length buckets).
 * @module
 */
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { SftSampleSchema } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import {
  BpeTokenizer,
  splitCallList,
  type TurnMessage,
  type TurnRole,
  TurnTemplate,
  type TurnTool,
} from "@parlmt/tokenizer";

/** One supervised example: context messages and tools, and the assistant text to learn. */
export interface SftExample {
  readonly id: string;
  readonly tools: readonly TurnTool[];
  readonly messages: readonly TurnMessage[];
  readonly target: string;
}

/** A loaded SFT data directory. */
export interface SftData {
  readonly train: SftExample[];
  readonly test: SftExample[];
  /** The directory's tokenizer, when it has a `tokenizer.json`. */
  readonly tokenizer?: BpeTokenizer;
}

const ROLE_NAMES: Partial<Record<Role, TurnRole>> = {
  [Role.SYSTEM]: "system",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
};

/** Parses one JSONL line (proto3 JSON of SftSample) into an example; `where` names the line. */
export function parseSftSample(line: string, where: string): SftExample {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new SyntaxError(`Cannot parse ${where}: invalid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SyntaxError(`Cannot parse ${where}: expected a JSON object (an SftSample)`);
  }
  let sample;
  try {
    sample = fromJson(SftSampleSchema, json as JsonValue);
  } catch (err) {
    throw new SyntaxError(`Cannot parse ${where}: ${(err as Error).message}`, { cause: err });
  }
  const name = sample.id ? `sample "${sample.id}"` : "sample";
  if (!sample.target.trim()) {
    throw new RangeError(`Cannot use ${where}: ${name} has no target`);
  }
  const tools = sample.tools.map((t, i): TurnTool => {
    let parameters: Record<string, unknown> = {};
    if (t.parametersJson) {
      try {
        parameters = JSON.parse(t.parametersJson);
      } catch (err) {
        throw new SyntaxError(
          `Cannot parse ${where}: ${name} tool ${i} ("${t.name}") has invalid parametersJson`,
          { cause: err },
        );
      }
    }
    if (!t.name) throw new RangeError(`Cannot use ${where}: ${name} tool ${i} has no name`);
    return { name: t.name, description: t.description, parameters };
  });
  const messages = sample.context.map((m, i): TurnMessage => {
    const role = ROLE_NAMES[m.role];
    if (!role) {
      throw new RangeError(`Cannot use ${where}: ${name} context message ${i} has no role`);
    }
    let content = m.content;
    // An assistant message whose calls live only in toolCalls gets them appended as `[...]`.
    if (role === "assistant" && m.toolCalls.length > 0) {
      const rest = content.replace(/^\s*<progress>[\s\S]*?<\/progress>/, "");
      if (splitCallList(rest) === null) {
        content += `[${m.toolCalls.map((c) => c.source || `${c.name}()`).join(", ")}]`;
      }
    }
    return { role, content };
  });
  return { id: sample.id, tools, messages, target: sample.target };
}

async function readJsonl(path: string): Promise<SftExample[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new RangeError(`Cannot load SFT data: "${path}" not found`, { cause: err });
    }
    throw err;
  }
  const out: SftExample[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim()) out.push(parseSftSample(line, `"${path}" line ${i + 1}`));
  });
  return out;
}

/** Loads `dir`; throws RangeError/SyntaxError naming the file and line of any bad input. */
export async function loadSftData(dir: string): Promise<SftData> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new RangeError(`Cannot load SFT data from "${dir}": directory not found`, {
        cause: err,
      });
    }
    throw err;
  }
  if (!info.isDirectory) {
    throw new RangeError(`Cannot load SFT data from "${dir}": not a directory`);
  }
  const train = await readJsonl(join(dir, "train.jsonl"));
  const test = await readJsonl(join(dir, "test.jsonl"));
  if (train.length === 0) {
    throw new RangeError(`Cannot load SFT data from "${dir}": train.jsonl has no samples`);
  }
  let tokenizer: BpeTokenizer | undefined;
  const tokPath = join(dir, "tokenizer.json");
  try {
    const json = JSON.parse(await Deno.readTextFile(tokPath));
    tokenizer = BpeTokenizer.fromJSON(json);
    new TurnTemplate(tokenizer); // checks the special tokens
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new SyntaxError(`Cannot load "${tokPath}": ${(err as Error).message}`, { cause: err });
    }
  }
  return tokenizer ? { train, test, tokenizer } : { train, test };
}

/** One example as next-token rows: `targets[t] = ids[t+1]`, mask on target tokens. */
export interface EncodedExample {
  readonly example: SftExample;
  /** Input ids (length n-1 of the rendered n tokens). */
  readonly inputIds: number[];
  readonly targets: number[];
  readonly lossMask: number[];
  /** The prompt for generation (context + `<|assistant|>`). */
  readonly prompt: number[];
}

/** Renders and shifts one example (only the target trains). */
export function encodeExample(template: TurnTemplate, example: SftExample): EncodedExample {
  const conv = template.renderConversation(
    [...example.messages, { role: "assistant", content: example.target }],
    example.tools,
    { trainOn: "last" },
  );
  return {
    example,
    inputIds: conv.ids.slice(0, -1),
    targets: conv.ids.slice(1),
    lossMask: conv.lossMask.slice(1),
    prompt: template.renderPrompt(example.messages, example.tools),
  };
}

/** Smallest bucket ≥ `length`, or undefined when the example is longer than every bucket. */
export function pickBucket(buckets: readonly number[], length: number): number | undefined {
  return [...buckets].sort((a, b) => a - b).find((b) => b >= length);
}

/** Packs rows into a padded `[B, T]` batch (padding: `padId` inputs/targets, mask 0). */
export function padBatch(
  rows: readonly EncodedExample[],
  batchSize: number,
  seqLen: number,
  padId: number,
): { input_ids: number[]; targets: number[]; loss_mask: number[] } {
  const n = batchSize * seqLen;
  const input_ids = new Array<number>(n).fill(padId);
  const targets = new Array<number>(n).fill(padId);
  const loss_mask = new Array<number>(n).fill(0);
  rows.forEach((r, b) => {
    if (b >= batchSize) return;
    if (r.inputIds.length > seqLen) {
      throw new RangeError(
        `Cannot pad example "${r.example.id}" of ${r.inputIds.length} to ${seqLen}`,
      );
    }
    for (let t = 0; t < r.inputIds.length; t++) {
      input_ids[b * seqLen + t] = r.inputIds[t]!;
      targets[b * seqLen + t] = r.targets[t]!;
      loss_mask[b * seqLen + t] = r.lossMask[t]!;
    }
  });
  return { input_ids, targets, loss_mask };
}
