import assert from "node:assert/strict";
import { testModel } from "./_test_model.ts";
import { Engine } from "./engine.ts";
import { ExternalModel } from "./external_backend.ts";
import { ModelRegistry, OnnxModel } from "./onnx_model.ts";
import { openaiHandler, splitToolCalls } from "./openai_http.ts";
import { Scheduler } from "./scheduler.ts";

const LIMITS = { maxNewTokens: 64, defaultMaxTokens: 16, maxStopStrings: 4, maxPromptTokens: 0 };

async function setup() {
  const m = testModel(2, { blockSize: 320 });
  const scheduler = new Scheduler({ codec: m.tokenizer, eosIds: [m.template.endId] });
  await scheduler.install(await Engine.fromWeightsBlob(m.blob(4)));
  const model = new OnnxModel({ id: "policy", scheduler, limits: LIMITS, tokenizer: m.tokenizer });
  const handler = openaiHandler(new ModelRegistry([model]));
  return { m, scheduler, handler };
}

const post = (body: unknown) =>
  new Request("http://x/v1/chat/completions", {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const TOOLS = [{
  type: "function",
  function: { name: "ls", description: "list", parameters: { type: "object", properties: {} } },
}];

Deno.test("openaiHandler() answers chat completions with token ids, logprobs and versions", async () => {
  const { scheduler, handler } = await setup();
  try {
    const models = await (await handler(new Request("http://x/v1/models")))!.json();
    assert.equal(models.data[0].id, "policy");
    const res = (await handler(post({
      model: "policy",
      messages: [{ role: "user", content: "list files" }],
      tools: TOOLS,
      temperature: 0,
      max_tokens: 8,
      logprobs: true,
    })))!;
    assert.equal(res.status, 200);
    const body = await res.json();
    const choice = body.choices[0];
    assert.equal(choice.token_ids.length, 8);
    assert.equal(choice.logprobs.content.length, 8);
    assert.equal(choice.policy_version, 4);
    assert.deepEqual(choice.token_versions, Array(8).fill(4));
    assert.equal(body.usage.completion_tokens, 8);
    assert.ok(body.prompt_token_ids.length > 10);
  } finally {
    await scheduler.close();
  }
});

Deno.test("openaiHandler() streams SSE chunks ending in [DONE]", async () => {
  const { scheduler, handler } = await setup();
  try {
    const res = (await handler(post({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
    })))!;
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const events = (await res.text()).split("\n\n").filter(Boolean).map((e) => e.slice(6));
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const ids = chunks.flatMap((c) => c.choices[0]?.token_ids ?? []);
    assert.equal(ids.length, 6);
    assert.equal(chunks.at(-2).choices[0].finish_reason, "length");
    assert.equal(chunks.at(-1).usage.completion_tokens, 6);
  } finally {
    await scheduler.close();
  }
});

Deno.test("openaiHandler() gives clear errors for bad input", async () => {
  const { scheduler, handler } = await setup();
  try {
    const cases: [unknown, number, RegExp][] = [
      ["{not json", 400, /Invalid JSON body/],
      [{ messages: "hi" }, 400, /Invalid messages/],
      [{ model: "nope", messages: [] }, 404, /Unknown model "nope"/],
      [{ messages: [{ role: "user", content: "x" }], temperature: -1 }, 400, /temperature/],
      [{ messages: [{ role: "user", content: "x" }], max_tokens: 100000 }, 400, /max_tokens/],
      [{ messages: [{ role: "user", content: "x".repeat(5000) }] }, 400, /exceed the limit/],
      [{ messages: [{ role: "wizard", content: "x" }] }, 400, /unknown role/],
      [{ messages: [{ role: "user", content: "x" }], stream: true, top_p: 7 }, 400, /top_p/],
    ];
    for (const [body, status, re] of cases) {
      const res = (await handler(post(body)))!;
      const json = await res.json();
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 60));
      assert.match(json.error.message, re);
    }
  } finally {
    await scheduler.close();
  }
});

Deno.test("splitToolCalls() separates the progress block from parsed calls", () => {
  const { content, calls } = splitToolCalls(
    "<progress>plan: mv</progress>[mv(source='a', destination='b'), ls()]",
  );
  assert.equal(content, "<progress>plan: mv</progress>");
  assert.deepEqual(calls!.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), [
    ["mv", { source: "a", destination: "b" }],
    ["ls", {}],
  ]);
  assert.equal(splitToolCalls("plain reply").calls, null);
});

Deno.test("ExternalModel forwards Generate to an OpenAI-compatible peer over HTTP", async () => {
  const { scheduler, handler } = await setup();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => (await handler(req)) ?? new Response("no", { status: 404 }),
  );
  try {
    const ext = new ExternalModel({
      id: "big",
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
      model: "policy",
      limits: LIMITS,
    });
    const input = {
      model: "big",
      prompt: {
        kind: "chat" as const,
        messages: [{ role: "user" as const, content: "list files" }],
        tools: [{ name: "ls", description: "list", parameters: {} }],
      },
      sampling: { temperature: 0, topP: 0, topK: 0, maxTokens: 7, stop: [] },
      constrained: false,
      pinVersion: 0n,
    };
    const r = await ext.generate(input);
    assert.equal(r.tokenIds.length, 7);
    assert.equal(r.logprobs.length, 7);
    assert.equal(r.policyVersion, 4n);
    assert.throws(
      () => new ExternalModel({ id: "x", baseUrl: "ftp://h", model: "", limits: LIMITS }),
      RangeError,
    );
    await assert.rejects(
      ext.generate({ ...input, prompt: { kind: "tokens", ids: [1, 2] } }),
      /takes chat prompts/,
    );
    const wrong = new ExternalModel({
      id: "y",
      baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
      model: "missing",
      limits: LIMITS,
    });
    await assert.rejects(wrong.generate(input), /answered 404/);
  } finally {
    await server.shutdown();
    await scheduler.close();
  }
});
