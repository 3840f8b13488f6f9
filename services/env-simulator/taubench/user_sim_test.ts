import assert from "node:assert/strict";
import { TauEpisode } from "./episode.ts";
import { LlmUserSimulator, USER_SIM_OPENING, userSystemPrompt } from "./user_sim.ts";

function fakeEndpoint(replies: string[], status = 200) {
  const requests: { url: string; headers: Headers; body: Record<string, unknown> }[] = [];
  const fetchFn: typeof fetch = (input, init) => {
    requests.push({
      url: String(input),
      headers: new Headers(init?.headers),
      body: JSON.parse(String(init?.body)),
    });
    const content = replies.shift() ?? "";
    return Promise.resolve(
      new Response(
        status === 200
          ? JSON.stringify({ choices: [{ message: { role: "assistant", content } }] })
          : "boom",
        { status },
      ),
    );
  };
  return { requests, fetchFn };
}

Deno.test("LlmUserSimulator sends the reference prompt with inverted roles", async () => {
  const { requests, fetchFn } = fakeEndpoint(["I want to cancel.", "Yes. ###STOP###"]);
  const user = new LlmUserSimulator({
    baseUrl: "http://sim.local/v1/",
    model: "gpt-4o",
    apiKey: "k",
    fetch: fetchFn,
  });
  const ep = await TauEpisode.create({ domain: "airline", taskIndex: 1 }, { user });
  assert.equal(ep.firstObservation, "I want to cancel.");
  const r = await ep.step({ kind: "respond", content: "Sure, confirm?" });
  assert.equal(r.done, true);
  assert.equal(requests.length, 2);
  assert.equal(requests[0]!.url, "http://sim.local/v1/chat/completions");
  assert.equal(requests[0]!.headers.get("authorization"), "Bearer k");
  assert.equal(requests[0]!.body.temperature, undefined);
  assert.deepEqual(requests[1]!.body, {
    model: "gpt-4o",
    messages: [
      { role: "system", content: userSystemPrompt(ep.task.instruction) },
      { role: "user", content: USER_SIM_OPENING },
      { role: "assistant", content: "I want to cancel." },
      { role: "user", content: "Sure, confirm?" },
    ],
  });
  assert.ok(
    userSystemPrompt("X").startsWith(
      "You are a user interacting with an agent.\n\nInstruction: X\nRules:\n",
    ),
  );
});

Deno.test("LlmUserSimulator reports HTTP errors and rejects bad options", async () => {
  const { fetchFn } = fakeEndpoint([], 500);
  const user = new LlmUserSimulator({ baseUrl: "http://sim.local/v1", model: "m", fetch: fetchFn });
  await assert.rejects(() => user.reset("hi"), /user simulator .* answered 500/);
  assert.throws(() => new LlmUserSimulator({ baseUrl: "sim.local", model: "m" }), RangeError);
  assert.throws(() => new LlmUserSimulator({ baseUrl: "http://x", model: "" }), RangeError);
});
