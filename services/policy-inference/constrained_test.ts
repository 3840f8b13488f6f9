import assert from "node:assert/strict";
import { parseCalls } from "@parlmt/bfcl";
import { testModel } from "./_test_model.ts";
import { tokenBytesOf, TurnFormat, TurnFormatConstraint } from "./constrained.ts";
import { Engine } from "./engine.ts";
import { OnnxModel } from "./onnx_model.ts";
import { parsePyCall } from "./py_call.ts";
import { Scheduler } from "./scheduler.ts";
import { Prng } from "@parlmt/model";

function accepts(fsm: TurnFormat, text: string): "complete" | "prefix" | "rejected" {
  const s = fsm.start();
  for (const b of new TextEncoder().encode(text)) if (!fsm.feed(s, b)) return "rejected";
  return fsm.accepting(s) ? "complete" : "prefix";
}

Deno.test("TurnFormat accepts the turn format with offered tools only", () => {
  const fsm = new TurnFormat(["ls", "mv", "add"]);
  assert.equal(accepts(fsm, "<progress>plan: ls</progress>[ls(a=True)]"), "complete");
  assert.equal(
    accepts(
      fsm,
      "<progress>x</progress>\n[mv(source='a b', destination=\"c\"), add(a=-1.5e3, b=[1, (2, 3), {'k': None}])]",
    ),
    "complete",
  );
  assert.equal(accepts(fsm, "<progress>x</progress>Done, the answer is 42."), "complete");
  assert.equal(accepts(fsm, "<progress>x</progress>[ls("), "prefix");
  assert.equal(accepts(fsm, "<progress>x</progress>[rm(a=1)]"), "rejected");
  assert.equal(accepts(fsm, "<progress>x</progress>[ls(1)]"), "rejected");
  assert.equal(accepts(fsm, "<progress>x</progress>[ls(a=foo)]"), "rejected");
  assert.equal(accepts(fsm, "<progress>x</progress>[ls(a=1]"), "rejected");
  assert.equal(accepts(fsm, "no block"), "rejected");
});

Deno.test("constrained generation is a valid prefix and finished calls parse and name offered tools", async () => {
  const m = testModel(5, { blockSize: 320 });
  const sched = new Scheduler({ eosIds: [m.template.endId], codec: m.tokenizer });
  await sched.install(await Engine.fromWeightsBlob(m.blob(1)));
  const model = new OnnxModel({
    id: "t",
    scheduler: sched,
    limits: { maxNewTokens: 80, defaultMaxTokens: 80, maxStopStrings: 4, maxPromptTokens: 0 },
    tokenizer: m.tokenizer,
  });
  const tools = ["ls", "mv", "add"].map((name) => ({ name, description: "", parameters: {} }));
  const fsm = new TurnFormat(tools.map((t) => t.name));
  try {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
      model.generate({
        model: "",
        prompt: { kind: "chat", messages: [{ role: "user", content: "list files" }], tools },
        sampling: { temperature: 1, topP: 1, topK: 0, seed: BigInt(i), maxTokens: 80, stop: [] },
        constrained: true,
        pinVersion: 0n,
      })));
    for (const r of results) {
      assert.notEqual(accepts(fsm, r.text), "rejected", r.text);
      if (r.finishReason === "stop") {
        assert.equal(accepts(fsm, r.text), "complete");
        assert.equal(r.tokenIds.at(-1), m.template.endId);
        const rest = r.text.slice(r.text.indexOf("</progress>") + 11).trim();
        if (rest.startsWith("[")) {
          for (const c of parseCalls(rest)) assert.ok(["ls", "mv", "add"].includes(c.name));
        }
      }
    }
    assert.ok(
      results.every((r) => "<progress>".startsWith(r.text) || r.text.startsWith("<progress>")),
    );
  } finally {
    await sched.close();
  }
});

Deno.test("parsePyCall() turns BFCL calls into JSON arguments", () => {
  assert.deepEqual(parsePyCall("mv(source='a.txt', destination=\"b\")"), {
    name: "mv",
    arguments: { source: "a.txt", destination: "b" },
  });
  assert.deepEqual(parsePyCall("f(x=[1, -2.5, True, None], y={'k': (1, 2)})"), {
    name: "f",
    arguments: { x: [1, -2.5, true, null], y: { k: [1, 2] } },
  });
  assert.throws(() => parsePyCall("f(1)"), SyntaxError);
  assert.throws(() => parsePyCall("f(x='a'"), SyntaxError);
});

Deno.test("TurnFormatConstraint never dead-ends and allows every tokenization of valid output", () => {
  const m = testModel();
  const bytes = tokenBytesOf(m.tokenizer.vocab, m.tokenizer.specialTokens);
  const tools = ["ls", "mv", "add"];
  const fsm = new TurnFormat(tools);
  const rng = new Prng(3);
  const enc = new TextEncoder();
  // Random walks: some token is always allowed and the text stays a valid prefix.
  for (let walk = 0; walk < 10; walk++) {
    const c = new TurnFormatConstraint(tools, bytes, [m.template.endId]);
    const ids: number[] = [];
    for (let step = 0; step < 40 && !c.done(); step++) {
      const allowed = c.allowed();
      const ok = [...allowed.keys()].filter((i) => allowed[i] === 1);
      assert.ok(ok.length > 0, "some token is always allowed");
      const pick = ok[rng.int(ok.length)]!;
      c.advance(pick);
      ids.push(pick);
    }
    assert.notEqual(accepts(fsm, m.template.decodeReply(ids)), "rejected");
  }
  // Guided walks: random tokenizations of valid outputs are allowed, then the end token.
  const targets = [
    "<progress>plan: ls</progress>[ls(a=True)]",
    "<progress>done</progress>\n[mv(source='a.txt', destination='b'), add(a=3, b=[4, 5])]",
    "<progress>done: add</progress>The answer is 42.",
  ];
  for (const target of targets) {
    for (let trial = 0; trial < 3; trial++) {
      const c = new TurnFormatConstraint(tools, bytes, [m.template.endId]);
      let rest = enc.encode(target);
      while (rest.length > 0) {
        const allowed = c.allowed();
        const fits = [...allowed.keys()].filter((id) => {
          const b = bytes[id];
          return b && b.length > 0 && b.length <= rest.length && b.every((x, k) => x === rest[k]);
        });
        const allowedFits = fits.filter((id) => allowed[id] === 1);
        assert.deepEqual(allowedFits, fits, `every token of "${target}" is allowed`);
        const pick = fits[rng.int(fits.length)]!;
        c.advance(pick);
        rest = rest.subarray(bytes[pick]!.length);
      }
      assert.equal(c.allowed()[m.template.endId], 1, `end allowed after "${target}"`);
    }
  }
  const rest = targets[1]!.slice(targets[1]!.indexOf("</progress>") + 11).trim();
  assert.deepEqual(parseCalls(rest).map((c) => c.name), ["mv", "add"]);
});
