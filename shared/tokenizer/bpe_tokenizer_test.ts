import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer } from "./bpe_tokenizer.ts";
import { trainBpe } from "./bpe_train.ts";

const CORPUS = [
  "User: list the files in the current folder, then move report.txt into 'archive'.",
  "<progress>Done: ls() showed report.txt and notes.md. Plan: mv(source='report.txt', destination='archive')</progress>",
  "[cd(folder='document'), ls(), mkdir(dir_name='temp'), cat(file_name='final_report.pdf')]",
  "The user's flight from SFO to LAX costs $250.99; book it and send the 2 tickets to me.",
  "Café déjà vu — naïve façade, 東京 and emoji 🙂 should round-trip byte-exactly.",
  "   leading spaces, trailing spaces   \n\nnew lines\tand tabs they'll we've I'm",
];

Deno.test("trainBpe() learns merges and round-trips text", () => {
  const tok = trainBpe(CORPUS.concat(CORPUS), { vocabSize: 400 });
  assert.ok(tok.merges.length > 50, `${tok.merges.length} merges`);
  assert.equal(tok.size, 256 + tok.merges.length + 1);
  for (const text of CORPUS) {
    const ids = tok.encode(text);
    assert.ok(ids.length < new TextEncoder().encode(text).length);
    assert.equal(tok.decode(ids), text);
  }
  const eot = tok.tokenId("<|endoftext|>")!;
  assert.deepEqual(tok.encode("a<|endoftext|>b"), [...tok.encode("a"), eot, ...tok.encode("b")]);
});

for (const preTokenizer of ["gpt2", "isolated"] as const) {
  Deno.test(`tokenizer.json (${preTokenizer} pre-tokens) loads in @huggingface/tokenizers with the same ids`, () => {
    const tok = trainBpe(CORPUS.concat(CORPUS), { vocabSize: 400, preTokenizer });
    const json = JSON.parse(JSON.stringify(tok.toJSON()));
    const hf = new Tokenizer(json, {});
    const probes = [
      ...CORPUS,
      "unseen words: reorganise archive/temp, 12345 and ünïcödé",
      "ends with <|endoftext|> a special",
    ];
    for (const text of probes) {
      const ours = tok.encode(text);
      const theirs = hf.encode(text, { add_special_tokens: false }).ids;
      assert.deepEqual(theirs, ours, `ids differ for ${JSON.stringify(text)}`);
      assert.equal(hf.decode(ours), text);
    }
    const back = BpeTokenizer.fromJSON(json);
    assert.equal(back.preTokenizer, preTokenizer);
    assert.deepEqual(back.encode(probes[6]!), tok.encode(probes[6]!));
  });
}

Deno.test("isolated pre-tokens spell a value with the same ids after a space, a quote or a '#'", () => {
  const texts = [
    "Share 'candle violet day' with tag meadow and 110.0 dollars.",
    "post_tweet(content='candle violet day', tags=['#meadow'], value=110.0)",
  ];
  const tok = trainBpe(Array(4).fill(texts).flat(), { vocabSize: 320, preTokenizer: "isolated" });
  const spell = (w: string) => tok.encode(w).join(",");
  const [request, call] = texts.map((t) => tok.encode(t).join(","));
  for (const value of ["candle", "meadow", "110.0"]) {
    assert.ok(request!.includes(spell(value)) && call!.includes(spell(value)), value);
  }
  // GPT-2 pre-tokens attach the space: " meadow" and "meadow" are spelled differently.
  const gpt2 = trainBpe(Array(4).fill(texts).flat(), { vocabSize: 320 });
  assert.notDeepEqual(gpt2.encode(" meadow").slice(-1), gpt2.encode("#meadow").slice(-1));
  assert.throws(
    () => BpeTokenizer.fromJSON({ ...tok.toJSON(), pre_tokenizer: { type: "Whitespace" } }),
    /pre_tokenizer Whitespace/,
  );
});
