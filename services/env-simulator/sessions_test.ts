import assert from "node:assert/strict";
import { createEpisode } from "./create_episode.ts";
import { type Episode, EpisodeDoneError, MAXIMUM_STEP_LIMIT } from "./episode.ts";
import { EpisodeNotFoundError, SessionStore } from "./sessions.ts";

Deno.test("SessionStore expires idle sessions on an injected clock", () => {
  let now = 0;
  let next = 0;
  const store = new SessionStore<Episode>({
    ttlMs: 1000,
    now: () => now,
    newId: () => `s${next++}`,
  });
  const id = store.add(createEpisode("multi_turn_base_0"));
  now = 999;
  store.get(id);
  now = 1998;
  assert.ok(store.get(id));
  now = 3000;
  assert.throws(() => store.get(id), EpisodeNotFoundError);
  assert.equal(store.size, 0);
});

Deno.test("SessionStore enforces maxSessions and fork gives an independent copy", () => {
  const store = new SessionStore<Episode>({ maxSessions: 2 });
  const a = store.add(createEpisode("multi_turn_base_0"));
  const b = store.fork(a);
  assert.throws(() => store.add(createEpisode("multi_turn_base_0")), RangeError);
  store.get(b).step("[cd(folder='document'), mkdir(dir_name='zz')]");
  assert.notEqual(store.get(a).stateJson(), store.get(b).stateJson());
  assert.ok(store.close(b));
});

Deno.test("Episode: tools follow miss_func, the step limit force-terminates, evaluate() scores", () => {
  const ep = createEpisode("multi_turn_miss_func_0");
  const held = ep.task.missedFunction.get(3)!;
  assert.ok(!ep.tools(0).some((d) => held.includes(d.name)));
  assert.ok(ep.tools(3).some((d) => held.includes(d.name)));
  for (let i = 0; i <= MAXIMUM_STEP_LIMIT; i++) ep.step("[pwd()]");
  assert.ok(ep.forceTerminated);
  assert.throws(() => ep.step("[pwd()]"), EpisodeDoneError);
  assert.equal(ep.evaluate().errorType, "multi_turn:force_terminated");

  const good = createEpisode("multi_turn_base_0");
  for (const calls of good.task.groundTruth) {
    if (calls.length) good.step(calls.join(", "));
    good.advanceTurn();
  }
  assert.equal(good.evaluate().valid, true);
});

Deno.test("createEpisode() validates inline tasks and names the bad field", () => {
  assert.throws(() => createEpisode("nope"), RangeError);
  assert.throws(
    () => createEpisode({ id: "x_1", question: [[]], involved_classes: ["Nope"] }),
    /field "involved_classes" has unknown class "Nope"/,
  );
  assert.throws(
    () => createEpisode({ id: "", question: [[]], involved_classes: ["MathAPI"] }),
    /field "id"/,
  );
  const ep = createEpisode({
    id: "custom_1",
    question: [[{ role: "user", content: "add" }]],
    involved_classes: ["MathAPI"],
  });
  assert.deepEqual(ep.step("[add(a=1, b=2.0)]").results, ['{"result": 3.0}']);
});
