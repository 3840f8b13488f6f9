import assert from "node:assert/strict";
import { pyJsonDumps } from "@parlmt/pycompat";
import { EpisodeDoneError } from "../episode.ts";
import { loadTasks, type TauTask } from "./data.ts";
import { type AgentAction, TauEpisode } from "./episode.ts";
import { ScriptedUser } from "./scripted_user.ts";

/** The gold actions of a task as agent tool calls (terminate tools last, like the reference). */
function goldActions(task: TauTask): AgentAction[] {
  return task.actions.map((a) => ({
    kind: "tool_call",
    name: a.name,
    arguments: pyJsonDumps(a.kwargs),
  }));
}

Deno.test("TauEpisode: the gold agent plus a reply with the outputs earns 1 at ###STOP###", async () => {
  const tasks = loadTasks("retail", "test");
  const index = tasks.findIndex((t) =>
    t.outputs.length > 0 && !t.actions.some((a) => a.name === "transfer_to_human_agents")
  );
  const user = new ScriptedUser({ stopAfter: 1 });
  const ep = await TauEpisode.create({ domain: "retail", taskIndex: index }, { user });
  assert.equal(ep.firstObservation, tasks[index]!.instruction);
  for (const a of goldActions(tasks[index]!)) assert.equal((await ep.step(a)).done, false);
  const last = await ep.step({ kind: "respond", content: tasks[index]!.outputs.join(", ") });
  assert.equal(last.observation, "###STOP###");
  assert.equal(last.done, true);
  assert.equal(ep.endReason, "user_stop");
  assert.equal(ep.reward, 1);
  assert.equal(ep.rewardResult?.info.rOutputs, 1);
  await assert.rejects(() => ep.step({ kind: "respond", content: "again" }), EpisodeDoneError);
});

Deno.test("TauEpisode: omitting the outputs text gives 0 on a task with outputs", async () => {
  const tasks = loadTasks("retail", "test");
  const index = tasks.findIndex((t) => t.outputs.length > 0);
  const ep = await TauEpisode.create({ domain: "retail", taskIndex: index }, {
    user: new ScriptedUser({ stopAfter: 1 }),
  });
  for (const a of goldActions(tasks[index]!)) {
    if (a.kind === "tool_call" && a.name === "transfer_to_human_agents") continue;
    await ep.step(a);
  }
  await ep.step({ kind: "respond", content: "All done." });
  assert.equal(ep.reward, 0);
  assert.equal(ep.rewardResult?.info.rActions, true);
});

Deno.test("TauEpisode: transfer_to_human_agents ends the episode at once and is scored", async () => {
  const ep = await TauEpisode.create({ domain: "airline", taskIndex: 0 }, {
    user: new ScriptedUser(),
  });
  const r = await ep.step({
    kind: "tool_call",
    name: "transfer_to_human_agents",
    arguments: '{"summary": "help"}',
  });
  assert.deepEqual(r, {
    observation: "Transfer successful",
    source: "transfer_to_human_agents",
    done: true,
    reward: ep.reward,
  });
  assert.equal(ep.endReason, "transfer");
  assert.ok(ep.rewardResult !== undefined);
});

Deno.test("TauEpisode: the step cap ends the episode unscored", async () => {
  const ep = await TauEpisode.create({ domain: "airline", taskIndex: 2 }, {
    user: new ScriptedUser(),
    maxSteps: 3,
  });
  await ep.step({ kind: "tool_call", name: "think", arguments: '{"thought": "a"}' });
  await ep.step({ kind: "respond", content: "hello" });
  const r = await ep.step({ kind: "tool_call", name: "list_all_airports", arguments: "{}" });
  assert.equal(r.done, true);
  assert.equal(ep.endReason, "max_steps");
  assert.equal(ep.reward, 0);
  assert.equal(ep.rewardResult, undefined);
});

Deno.test("TauEpisode: unknown tools, bad arguments and malformed JSON are observations", async () => {
  const ep = await TauEpisode.create({ domain: "retail", taskIndex: 0 }, {
    user: new ScriptedUser(),
  });
  const obs = async (name: string, args: string) =>
    (await ep.step({ kind: "tool_call", name, arguments: args })).observation;
  assert.equal(await obs("fly_me_to_the_moon", "{}"), "Unknown action fly_me_to_the_moon");
  assert.equal(
    await obs("get_order_details", "{}"),
    "Error: GetOrderDetails.invoke() missing 1 required positional argument: 'order_id'",
  );
  assert.equal(
    await obs("get_order_details", '{"order_id": "#W1", "foo": 1}'),
    "Error: GetOrderDetails.invoke() got an unexpected keyword argument 'foo'",
  );
  assert.equal(
    await obs("modify_pending_order_address", '{"order_id": "#W1"}'),
    "Error: ModifyPendingOrderAddress.invoke() missing 6 required positional arguments: " +
      "'address1', 'address2', 'city', 'state', 'country', and 'zip'",
  );
  assert.equal(
    await obs("get_order_details", '{"order_id": ["#W1"]}'),
    "Error: unhashable type: 'list'",
  );
  assert.equal(
    await obs("find_user_id_by_email", '{"email": 5}'),
    "Error: 'int' object has no attribute 'lower'",
  );
  assert.match(
    await obs("get_order_details", '{"order_id": '),
    /^Error: tool arguments are not valid JSON/,
  );
  assert.equal(
    await obs("get_order_details", "[1]"),
    "Error: tool arguments must be a JSON object, not list",
  );
  assert.equal(
    await obs(
      "exchange_delivered_order_items",
      '{"order_id": "#W2378156", "item_ids": "1", "new_item_ids": [], "payment_method_id": "x"}',
    ),
    "Error: 1 not found",
  );
  assert.equal(ep.done, false);
});

Deno.test("TauEpisode: malformedArguments 'end' crashes the episode with reward 0 like the reference", async () => {
  const ep = await TauEpisode.create({ domain: "retail", taskIndex: 0 }, {
    user: new ScriptedUser(),
    malformedArguments: "end",
  });
  const r = await ep.step({ kind: "tool_call", name: "think", arguments: "{oops" });
  assert.equal(r.done, true);
  assert.equal(ep.endReason, "crash");
  assert.equal(ep.reward, 0);
});

Deno.test("TauEpisode: 250.0 instead of 250 changes the state and the reward (int vs float)", async () => {
  const task = loadTasks("airline", "test")[0]!;
  const run = async (patch: (json: string) => string) => {
    const ep = await TauEpisode.create({ domain: "airline", taskIndex: 0 }, {
      user: new ScriptedUser({ stopAfter: 1 }),
    });
    for (const a of goldActions(task)) {
      await ep.step(a.kind === "tool_call" ? { ...a, arguments: patch(a.arguments as string) } : a);
    }
    await ep.step({ kind: "respond", content: "done" });
    return ep.reward;
  };
  assert.equal(await run((s) => s), 1);
  assert.ok(task.actions.some((a) => a.name === "book_reservation"));
  assert.equal(await run((s) => s.replace(/"amount": (\d+)/, '"amount": $1.0')), 0);
});

Deno.test("TauEpisode.create() validates inline tasks and names the field", async () => {
  const user = new ScriptedUser();
  await assert.rejects(
    () =>
      TauEpisode.create({
        domain: "retail",
        task: { user_id: "x", instruction: "hi", actions: [{ name: "think", kwargs: 3 }] },
      }, { user }),
    (err: Error) => err instanceof TypeError && /"actions\[0\]\.kwargs"/.test(err.message),
  );
  await assert.rejects(
    () => TauEpisode.create({ domain: "retail", task: { instruction: "hi" } }, { user }),
    /"user_id"/,
  );
  await assert.rejects(
    () =>
      TauEpisode.create({
        domain: "retail",
        task: '{"user_id": "x", "instruction": "hi", "outputs": [1]}',
      }, { user }),
    /"outputs\[0\]"/,
  );
  await assert.rejects(
    () => TauEpisode.create({ domain: "airline", taskIndex: 50 }, { user }),
    RangeError,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => TauEpisode.create({ domain: "bank" as any, taskIndex: 0 }, { user }),
    /Unknown domain "bank"/,
  );
  const ep = await TauEpisode.create({
    domain: "retail",
    task: '{"user_id": "x", "instruction": "hi", "actions": [], "outputs": ["1000"]}',
  }, { user: new ScriptedUser({ stopAfter: 1 }) });
  await ep.step({ kind: "respond", content: "The total is $1,000." });
  assert.equal(ep.reward, 1);
});
