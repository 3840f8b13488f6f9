import assert from "node:assert/strict";
import { Tokenizer } from "@huggingface/tokenizers";
import { parseAssistantText, splitCallList } from "./assistant_text.ts";
import { BpeTokenizer } from "./bpe_tokenizer.ts";
import { trainBpe } from "./bpe_train.ts";
import {
  CHAT_TEMPLATE,
  jinjaToJson,
  TURN_SPECIAL_TOKENS,
  TURN_TOKENS,
  type TurnMessage,
  TurnTemplate,
  type TurnTool,
} from "./turn_template.ts";

const TOOLS: TurnTool[] = [
  {
    name: "cd",
    description: "Change directory.",
    parameters: {
      type: "object",
      properties: { folder: { type: "string", description: "Folder name" } },
      required: ["folder"],
    },
  },
  { name: "ls", description: "List files (ünïcödé ok).", parameters: { type: "object" } },
];

const MESSAGES: TurnMessage[] = [
  { role: "system", content: "You are a careful agent." },
  { role: "user", content: "Go to the document folder and list it." },
  {
    role: "assistant",
    content: "<progress>Plan: cd(folder='document'), ls()</progress>[cd(folder='document'), ls()]",
  },
  { role: "tool", content: '{"current_working_directory": "document"}' },
  { role: "tool", content: '{"current_directory_content": ["a.txt"]}' },
  { role: "assistant", content: "<progress>Done: cd, ls.</progress>The folder holds a.txt." },
  { role: "user", content: "Thanks!" },
];

function tokenizer(): BpeTokenizer {
  const text = TurnTemplate.renderConversationText(MESSAGES, TOOLS);
  return trainBpe([text, text], { vocabSize: 380, specialTokens: TURN_SPECIAL_TOKENS });
}

Deno.test("TurnTemplate text has role tokens, tools and <|end|> after every message", () => {
  const text = TurnTemplate.renderConversationText(MESSAGES.slice(0, 3), TOOLS);
  assert.equal(
    text,
    "<|system|>You are a careful agent.\n\n# Tools\n" +
      '{"name": "cd", "description": "Change directory.", "parameters": {"type": "object", ' +
      '"properties": {"folder": {"type": "string", "description": "Folder name"}}, ' +
      '"required": ["folder"]}}\n' +
      '{"name": "ls", "description": "List files (ünïcödé ok).", "parameters": {"type": "object"}}' +
      "<|end|><|user|>Go to the document folder and list it.<|end|>" +
      "<|assistant|><progress>Plan: cd(folder='document'), ls()</progress>" +
      "[cd(folder='document'), ls()]<|end|>",
  );
  assert.equal(
    TurnTemplate.renderPromptText([{ role: "user", content: "hi" }]),
    "<|user|>hi<|end|><|assistant|>",
  );
  assert.equal(
    TurnTemplate.renderPromptText([{ role: "user", content: "hi" }], TOOLS.slice(1)),
    '<|system|># Tools\n{"name": "ls", "description": "List files (ünïcödé ok).", ' +
      '"parameters": {"type": "object"}}<|end|><|user|>hi<|end|><|assistant|>',
  );
});

Deno.test("TurnTemplate ids equal encode(text) and the mask covers assistant tokens only", () => {
  const tok = tokenizer();
  const tpl = new TurnTemplate(tok);
  const { ids, lossMask } = tpl.renderConversation(MESSAGES, TOOLS);
  assert.deepEqual(ids, tok.encode(TurnTemplate.renderConversationText(MESSAGES, TOOLS)));
  assert.equal(lossMask.length, ids.length);
  // The trained tokens decode to exactly the assistant messages, each with its <|end|>.
  const trained = ids.filter((_, i) => lossMask[i] === 1);
  assert.equal(
    tok.decode(trained),
    MESSAGES.filter((m) => m.role === "assistant").map((m) => m.content + "<|end|>").join(""),
  );
  // Role headers never train; the token after each <|assistant|> does.
  const asst = tok.tokenId(TURN_TOKENS.assistant)!;
  ids.forEach((id, i) => {
    if (id === asst) assert.equal(lossMask[i], 0);
    if (id === asst) assert.equal(lossMask[i + 1], 1);
  });
  const last = tpl.renderConversation(MESSAGES.slice(0, 6), TOOLS, { trainOn: "last" });
  assert.equal(
    tok.decode(last.ids.filter((_, i) => last.lossMask[i] === 1)),
    MESSAGES[5]!.content + "<|end|>",
  );
  const prompt = tpl.renderPrompt(MESSAGES.slice(0, 2), TOOLS);
  assert.deepEqual(prompt, tok.encode(TurnTemplate.renderPromptText(MESSAGES.slice(0, 2), TOOLS)));
  assert.equal(prompt.at(-1), asst);
  assert.equal(tpl.decodeReply([...tok.encode("[ls()]"), tpl.endId, 5, 6]), "[ls()]");
});

Deno.test("TurnTemplate special tokens round-trip through @huggingface/tokenizers", () => {
  const tok = tokenizer();
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  const hf = new Tokenizer(json, {});
  const text = TurnTemplate.renderPromptText(MESSAGES, TOOLS);
  const ours = new TurnTemplate(tok).renderPrompt(MESSAGES, TOOLS);
  assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, ours);
  assert.equal(hf.decode(ours, { skip_special_tokens: false }), text);
  for (const t of TURN_SPECIAL_TOKENS) {
    assert.deepEqual(hf.encode(t, { add_special_tokens: false }).ids, [tok.tokenId(t)]);
  }
  const back = new TurnTemplate(BpeTokenizer.fromJSON(json));
  assert.deepEqual(back.renderPrompt(MESSAGES, TOOLS), ours);
});

Deno.test("TurnTemplate rejects a tokenizer without its special tokens and bad messages", () => {
  const plain = trainBpe(["hello world"], { vocabSize: 260 });
  assert.throws(() => new TurnTemplate(plain), /special token "<\|end\|>" is not registered/);
  assert.throws(
    () => TurnTemplate.renderConversationText([{ role: "bot", content: "x" } as never]),
    /Cannot render message 0: role must be/,
  );
});

Deno.test("jinjaToJson() writes the separators of Jinja tojson", () => {
  assert.equal(
    jinjaToJson({ a: [1, 2.5, "x"], b: null, c: true }),
    '{"a": [1, 2.5, "x"], "b": null, "c": true}',
  );
});

Deno.test("parseAssistantText() splits progress and normalised calls", () => {
  const p = parseAssistantText(
    `<progress>Plan: cd</progress> [cd( folder = "my docs" ), ls(a=[1, 2]), mv(s='it\\'s')]`,
  );
  assert.equal(p.progress, "Plan: cd");
  assert.deepEqual(p.calls, ["cd(folder='my docs')", "ls(a=[1,2])", "mv(s='it\\'s')"]);
  assert.equal(parseAssistantText("<progress>x</progress>All done.").calls, null);
  assert.deepEqual(splitCallList("[]"), []);
  assert.equal(splitCallList("[cd(folder='x']"), null);
  assert.equal(splitCallList("[not a call]"), null);
});

Deno.test("CHAT_TEMPLATE rendered by @huggingface/jinja equals the TypeScript renderer", async () => {
  const { Template } = await import("@huggingface/jinja");
  const template = new Template(CHAT_TEMPLATE);
  const tools = [
    {
      name: "cd",
      description: "Change directory",
      parameters: { type: "dict", properties: { folder: { type: "string" } } },
    },
    {
      name: "ls",
      description: "List — ünïcode",
      parameters: { type: "dict", properties: {}, required: [] },
    },
  ];
  const conversations = [
    [{ role: "user" as const, content: "open docs" }],
    [
      { role: "system" as const, content: "You are an agent." },
      { role: "user" as const, content: "open docs, then list" },
      {
        role: "assistant" as const,
        content: "<progress>plan: cd, ls</progress>[cd(folder='docs'), ls()]",
      },
      { role: "tool" as const, content: '{"current_working_directory": "docs"}' },
    ],
  ];
  for (const messages of conversations) {
    for (const withTools of [true, false]) {
      const t = withTools ? tools : [];
      assert.equal(
        template.render({ messages, tools: t, add_generation_prompt: true }),
        TurnTemplate.renderPromptText(messages, t),
      );
      assert.equal(
        template.render({ messages, tools: t, add_generation_prompt: false }),
        TurnTemplate.renderConversationText(messages, t),
      );
    }
  }
});
