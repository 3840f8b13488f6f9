import assert from "node:assert/strict";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer } from "./bpe_tokenizer.ts";
import { trainTokenizerCli } from "./train_cli.ts";
import { CHAT_TEMPLATE, TURN_SPECIAL_TOKENS, TurnTemplate } from "./turn_template.ts";

Deno.test("trainTokenizerCli() writes tokenizer.json and tokenizer_config.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const txt = join(dir, "a.txt");
    const jsonl = join(dir, "b.jsonl");
    await Deno.writeTextFile(txt, "open the folder docs\nlist the files\n".repeat(20));
    await Deno.writeTextFile(
      jsonl,
      '{"target": "[cd(folder=\'docs\')]", "context": [{"content": "<|user|>open docs"}]}\n'
        .repeat(10),
    );
    const out = join(dir, "tokenizer.json");
    const s = await trainTokenizerCli([
      "--corpus",
      txt,
      jsonl,
      "--vocab-size",
      "300",
      "--out",
      out,
    ]);
    assert.ok(s.vocabSize > 270 && s.vocabSize <= 300, `vocab ${s.vocabSize}`);
    assert.equal(s.numTexts, 21);
    const json = JSON.parse(await Deno.readTextFile(out));
    const tok = BpeTokenizer.fromJSON(json);
    assert.deepEqual(tok.specialTokens, TURN_SPECIAL_TOKENS);
    assert.ok(!tok.vocab.some((t) => t.includes("|>") && !tok.specialTokens.includes(t)));
    const text = TurnTemplate.renderPromptText([{ role: "user", content: "open the folder docs" }]);
    const hf = new Tokenizer(json, {});
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, tok.encode(text));
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer_config.json")));
    assert.equal(cfg.chat_template, CHAT_TEMPLATE);
    assert.equal(cfg.eos_token, "<|end|>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainTokenizerCli() rejects bad arguments and files clearly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "t.json");
    await assert.rejects(trainTokenizerCli(["--out", out]), /no --corpus files/);
    await assert.rejects(
      trainTokenizerCli(["--corpus", join(dir, "nope.txt"), "--out", out]),
      /Cannot read corpus file ".*nope.txt": not found/,
    );
    const bad = join(dir, "bad.jsonl");
    await Deno.writeTextFile(bad, '{"a": "x"}\n{oops\n');
    await assert.rejects(
      trainTokenizerCli(["--corpus", bad, "--out", out]),
      /bad.jsonl" line 2: invalid JSON/,
    );
    await assert.rejects(
      trainTokenizerCli(["--corpus", bad, "--out", out, "--vocab-size", "ten"]),
      /--vocab-size "ten": must be a positive integer/,
    );
    await assert.rejects(trainTokenizerCli(["--corpus", bad, "--bogus"]), /bogus/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
