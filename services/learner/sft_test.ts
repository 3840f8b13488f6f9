import assert from "node:assert/strict";
import { join } from "node:path";
import { Logger } from "@parlmt/log";
import { trainBpe, trainTurnTokenizer } from "@parlmt/tokenizer";
import { parseSftConfig, runSft } from "./sft.ts";
import { loadSftData, parseSftSample } from "./sft_data.ts";
import { callsMatch } from "./sft_eval.ts";

const TOOLS = [
  {
    name: "cd",
    description: "Change directory.",
    parametersJson: '{"type": "object", "properties": {"folder": {"type": "string"}}}',
  },
  {
    name: "mkdir",
    description: "Make a directory.",
    parametersJson: '{"type": "object", "properties": {"dir_name": {"type": "string"}}}',
  },
  { name: "ls", description: "List files.", parametersJson: '{"type": "object"}' },
];

const NAMES = ["docs", "music", "photos", "temp", "work", "notes"];

/** Tiny template grammar: phrasing × folder name → the call list. */
const GRAMMAR: [(x: string) => string, (x: string) => string][] = [
  [(x) => `open folder ${x}`, (x) => `cd(folder='${x}')`],
  [(x) => `go to the ${x} folder`, (x) => `cd(folder='${x}')`],
  [(x) => `make a folder called ${x}`, (x) => `mkdir(dir_name='${x}')`],
  [(x) => `create directory ${x}`, (x) => `mkdir(dir_name='${x}')`],
  [(x) => `open folder ${x} and list it`, (x) => `cd(folder='${x}'), ls()`],
  [() => `list the files here`, () => `ls()`],
];

/** All samples as proto3 JSON lines; every 5th (phrasing, name) pair goes to test. */
function dataset(): { train: string[]; test: string[] } {
  const train: string[] = [];
  const test: string[] = [];
  let k = 0;
  GRAMMAR.forEach(([say, call], g) => {
    for (const name of g === 5 ? [""] : NAMES) {
      const calls = call(name);
      const sample = {
        id: `s${k}`,
        taskId: `t${k}`,
        turnIndex: 0,
        contextMode: "CONTEXT_MODE_FULL",
        split: k % 5 === 4 ? "test" : "train",
        tools: TOOLS,
        context: [
          { role: "ROLE_SYSTEM", content: "You are a file agent." },
          { role: "ROLE_USER", content: `Please ${say(name)}.` },
        ],
        target: `<progress>Plan: ${calls}</progress>[${calls}]`,
      };
      (k++ % 5 === 4 ? test : train).push(JSON.stringify(sample));
    }
  });
  return { train, test };
}

async function writeDataset(dir: string): Promise<void> {
  const { train, test } = dataset();
  await Deno.writeTextFile(join(dir, "train.jsonl"), train.join("\n") + "\n");
  await Deno.writeTextFile(join(dir, "test.jsonl"), test.join("\n") + "\n");
}

Deno.test("runSft() lowers held-out loss and reproduces the train calls", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  try {
    await writeDataset(join(dir));
    const out = join(dir, "out");
    const cfg = parseSftConfig([
      ...["--data", dir, "--out", out, "--steps", "300", "--batch-size", "8"],
      ...["--buckets", "128,160", "--n-layer", "2", "--n-embd", "64", "--n-head", "4"],
      ...["--n-ff", "128", "--vocab-size", "400", "--lr", "1e-2", "--warmup-steps", "10"],
      ...[
        "--eval-every",
        "50",
        "--threads",
        "1",
        "--decode-train",
        "100",
        "--max-new-tokens",
        "40",
      ],
    ]);
    const s = await runSft(cfg, new Logger({ service: "sft", sink: (l) => lines.push(l) }));
    assert.ok(
      s.heldOutLossAfter < s.heldOutLossBefore / 4,
      `held-out loss ${s.heldOutLossBefore} → ${s.heldOutLossAfter}`,
    );
    assert.equal(s.exactMatchTrain, 1, `train exact match ${s.exactMatchTrain}`);
    assert.equal(s.droppedSamples, 0);
    const metrics = (await Deno.readTextFile(join(out, "metrics.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    const names = new Set(metrics.flatMap((e) => Object.keys(e.scalars)));
    for (
      const n of ["losses/train", "losses/heldout", "charts/exact_match", "perf/tokens_per_sec"]
    ) assert.ok(names.has(n), `metrics.jsonl lacks ${n}`);
    for (const f of ["checkpoint.safetensors", "model.safetensors", "tokenizer.json"]) {
      assert.ok((await Deno.stat(join(out, f))).size > 0, f);
    }
    assert.ok(lines.some((l) => l.includes("Finished SFT")));
    // deno-lint-ignore no-console
    console.log(JSON.stringify(s));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSftData() names the file and line of bad input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadSftData(join(dir, "nope")), /"[^"]*nope": directory not found/);
    await assert.rejects(loadSftData(dir), /"[^"]*train.jsonl" not found/);
    const { train } = dataset();
    const put = (t: string[]) => Deno.writeTextFile(join(dir, "train.jsonl"), t.join("\n"));
    await put([train[0]!]);
    await assert.rejects(loadSftData(dir), /"[^"]*test.jsonl" not found/);
    await Deno.writeTextFile(join(dir, "test.jsonl"), "");
    await put([train[0]!, "{not json"]);
    await assert.rejects(loadSftData(dir), /train.jsonl" line 2: invalid JSON/);
    const noTarget = { ...JSON.parse(train[0]!), target: "" };
    await put([train[0]!, train[1]!, JSON.stringify(noTarget)]);
    await assert.rejects(loadSftData(dir), /train.jsonl" line 3: sample "s0" has no target/);
    await put(["", ""]);
    await assert.rejects(loadSftData(dir), /train.jsonl has no samples/);
    await put([train[0]!]);
    const tokPath = join(dir, "tokenizer.json");
    await Deno.writeTextFile(tokPath, JSON.stringify(trainBpe(["open folder"]).toJSON()));
    await assert.rejects(loadSftData(dir), /tokenizer.json": .*"<\|end\|>" is not registered/);
    await Deno.writeTextFile(tokPath, JSON.stringify(trainTurnTokenizer(train).toJSON()));
    assert.ok((await loadSftData(dir)).tokenizer?.specialTokens.includes("<|end|>"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const base = JSON.parse(dataset().train[0]!);
  const bad = (patch: object) => () => parseSftSample(JSON.stringify({ ...base, ...patch }), "L1");
  assert.throws(bad({ bogus: 1 }), /Cannot parse L1: .*key "bogus" is unknown/);
  assert.throws(bad({ context: [{ role: "ROLE_X" }] }), /Cannot parse L1: .*ROLE_X/);
  assert.throws(bad({ context: [{ content: "hi" }] }), /context message 0 has no role/);
  assert.throws(
    bad({ tools: [{ name: "cd", parametersJson: "{" }] }),
    /tool 0 \("cd"\) has invalid parametersJson/,
  );
  assert.throws(() => parseSftSample("[1]", "L1"), /expected a JSON object/);
});

Deno.test("parseSftSample() appends calls kept only in toolCalls", () => {
  const s = parseSftSample(
    JSON.stringify({
      target: "[ls()]",
      context: [{
        role: "ROLE_ASSISTANT",
        content: "<progress>p</progress>",
        toolCalls: [{ name: "cd", source: "cd(folder='a')" }, { name: "ls", source: "ls()" }],
      }],
    }),
    "L1",
  );
  assert.equal(s.messages[0]!.content, "<progress>p</progress>[cd(folder='a'), ls()]");
});

Deno.test("sft CLI exits 1 with a clear message on a missing directory and bad flags", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./sft.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, err: new TextDecoder().decode(out.stderr) };
  };
  const a = await run("--data", "/nonexistent/sft-data", "--out", "/tmp/sft-out-unused");
  assert.equal(a.code, 1);
  assert.match(a.err, /Cannot load SFT data from "\/nonexistent\/sft-data": directory not found/);
  const b = await run("--out", "x");
  assert.equal(b.code, 1);
  assert.match(b.err, /missing --data DIR/);
  const c = await run("--data", "x", "--out", "y", "--steps", "-3");
  assert.equal(c.code, 1);
  assert.match(c.err, /--steps/);
});

Deno.test("callsMatch() compares normalised call lists", () => {
  assert.ok(
    callsMatch("<progress>a</progress>[cd(folder='x')]", '<progress>b</progress>[cd(folder="x")]'),
  );
  assert.ok(!callsMatch("[cd(folder='x')]", "[cd(folder='y')]"));
  assert.ok(!callsMatch("[cd(folder='x'), ls()]", "[cd(folder='x')]"));
  assert.ok(callsMatch("<progress>a</progress>Done.", "<progress>b</progress> Done."));
});
