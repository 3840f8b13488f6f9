/**
 * EnvService over real gRPC: the env-simulator as a child process on loopback, driven through
 * the generated client. Ground truth replays to a passing checker verdict; forks are
 * independent; bad input gets INVALID_ARGUMENT / NOT_FOUND / RESOURCE_EXHAUSTED /
 * FAILED_PRECONDITION with a clear message, and the service keeps serving.
 */
import assert from "node:assert/strict";
import { assertRpcError } from "@parlmt/testing";
import { Benchmark } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { Code, createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";

Deno.test({
  name: "env service - BFCL sessions over gRPC: replay, state, fork, evaluate, bad input",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using svc = await spawnService("env-simulator", {
      args: ["--max-sessions", "50", "--max-message-bytes", "1048576", "--max-call-chars", "5000"],
    });
    const env = createClient(EnvService, svc.address, { maxMessageBytes: 8 * 1024 * 1024 });
    try {
      for (
        const category of [
          "multi_turn_base",
          "multi_turn_miss_func",
          "multi_turn_miss_param",
          "multi_turn_long_context",
        ]
      ) {
        const page = await env.listTasks({ category, pageSize: 1000 });
        assert.equal(page.total, 200, category);
        assert.equal(page.tasks.length, 200);
      }
      const first = await env.listTasks({ pageSize: 10, benchmark: Benchmark.BFCL });
      assert.equal(first.total, 800);
      assert.equal((await env.listTasks({ pageSize: 1 })).total, 800 + 685, "BFCL and τ-bench");
      assert.equal(first.nextPageToken, "10");

      // Replay the ground truth of a task turn by turn; the checker passes it.
      const { task } = await env.getTask({ taskId: "multi_turn_base_0" });
      const created = await env.createSession({ source: { case: "taskId", value: task!.id } });
      assert.ok(created.tools.length > 0);
      assert.ok(created.userMessages.length > 0);
      const id = created.sessionId;
      let fork = "";
      for (const [t, turn] of task!.turns.entries()) {
        if (turn.groundTruthCalls.length > 0) {
          const res = await env.execute({
            sessionId: id,
            calls: { case: "source", value: `[${turn.groundTruthCalls.join(", ")}]` },
          });
          assert.equal(res.results.length, turn.groundTruthCalls.length);
        }
        if (t === 0) fork = (await env.forkSession({ sessionId: id })).sessionId;
        const next = await env.advanceTurn({ sessionId: id });
        assert.equal(next.done, t === task!.turns.length - 1);
      }
      const verdict = await env.evaluate({ sessionId: id });
      assert.equal(verdict.result!.success, true, verdict.result!.detailsJson);
      // The fork diverges from its parent: its state stayed at the end of turn 0.
      const parentState = await env.getState({ sessionId: id });
      const forkState = await env.getState({ sessionId: fork });
      assert.equal(forkState.turnIndex, 0);
      assert.notEqual(forkState.stateJson, parentState.stateJson);
      await assertRpcError(
        env.execute({ sessionId: id, calls: { case: "source", value: "[ls()]" } }),
        Code.FAILED_PRECONDITION,
        /already done/,
      );

      // Calls with JSON arguments and a failing tool call (an observation, not an RPC error).
      const s2 =
        (await env.createSession({ source: { case: "taskId", value: "multi_turn_base_0" } }))
          .sessionId;
      const ok = await env.execute({
        sessionId: s2,
        calls: {
          case: "toolCalls",
          value: { calls: [{ name: "cd", argumentsJson: '{"folder": "no-such-dir"}' }] },
        },
      });
      assert.equal(ok.results.length, 1);
      assert.equal(ok.results[0]!.isError, false, ok.results[0]!.output); // cd's own error dict
      const unknown = await env.execute({
        sessionId: s2,
        calls: { case: "source", value: "[no_such_function(a=1)]" },
      });
      assert.equal(unknown.results[0]!.isError, true);
      assert.match(unknown.results[0]!.output, /^Error during execution: /);

      // Bad input.
      await assertRpcError(
        env.getState({ sessionId: "nope" }),
        Code.NOT_FOUND,
        /Cannot find session "nope"/,
      );
      await assertRpcError(
        env.getTask({ taskId: "multi_turn_base_9999" }),
        Code.NOT_FOUND,
        /Unknown task id/,
      );
      await assertRpcError(
        env.createSession({ source: { case: "taskId", value: "zzz" } }),
        Code.NOT_FOUND,
        /Unknown task id "zzz"/,
      );
      await assertRpcError(
        env.createSession({ source: { case: "taskJson", value: "{not json" } }),
        Code.INVALID_ARGUMENT,
        /not valid JSON/,
      );
      await assertRpcError(
        env.createSession({
          source: { case: "taskJson", value: JSON.stringify({ id: "x", question: [] }) },
        }),
        Code.INVALID_ARGUMENT,
        /Invalid task_json/,
      );
      await assertRpcError(
        env.createSession({}),
        Code.INVALID_ARGUMENT,
        /task_id, task_json or task/,
      );
      await assertRpcError(
        env.listTasks({ category: "nonsense" }),
        Code.INVALID_ARGUMENT,
        /Unknown category "nonsense"/,
      );
      await assertRpcError(
        env.execute({ sessionId: s2, calls: { case: "source", value: "[cd(folder='a'" } }),
        Code.INVALID_ARGUMENT,
        /Cannot parse calls/,
      );
      await assertRpcError(
        env.execute({
          sessionId: s2,
          calls: { case: "source", value: `[cd(folder='${"a".repeat(6000)}')]` },
        }),
        Code.RESOURCE_EXHAUSTED,
        /exceeds the limit of 5000/,
      );
      await assertRpcError(
        env.execute({
          sessionId: s2,
          calls: { case: "source", value: "x".repeat(2 * 1024 * 1024) },
        }),
        Code.RESOURCE_EXHAUSTED,
        /larger than max/,
      );
      await assertRpcError(
        env.execute({
          sessionId: s2,
          calls: { case: "toolCalls", value: { calls: [{ name: "cd", argumentsJson: "[1]" }] } },
        }),
        Code.INVALID_ARGUMENT,
        /must be a JSON object/,
      );
      await assertRpcError(
        env.getTools({ sessionId: s2, turnIndex: 99 }),
        Code.INVALID_ARGUMENT,
        /out of range/,
      );
      // The service still serves, and the first session is intact.
      assert.equal((await env.getState({ sessionId: s2 })).turnIndex, 0);
      await env.closeSession({ sessionId: s2 });
      await assertRpcError(
        env.closeSession({ sessionId: s2 }),
        Code.NOT_FOUND,
        /unknown or expired/,
      );
    } finally {
      env.close();
    }
  },
});

Deno.test({
  name: "env service - τ-bench sessions over gRPC: gold actions, scripted user, reward 1",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using svc = await spawnService("env-simulator");
    const env = createClient(EnvService, svc.address);
    try {
      const retail = await env.listTasks({
        benchmark: Benchmark.TAUBENCH,
        category: "retail",
        pageSize: 1000,
      });
      assert.equal(retail.total, 115 + 500 + 20, "test, train and dev splits");
      for (const index of [0, 5]) {
        const id = `taubench_retail_test_${index}`;
        const { task } = await env.getTask({ taskId: id });
        const { sessionId, userMessages, tools } = await env.createSession({
          source: { case: "taskId", value: id },
          user: { kind: { case: "scripted", value: { stopAfter: 1 } } },
        });
        assert.equal(tools.length, 16, "retail has 16 tools");
        assert.equal(userMessages.length, 2, "policy and the user's first line");
        const outputs: string[] = JSON.parse(task!.sourceJson).outputs;
        for (const call of task!.turns[0]!.groundTruthCalls) {
          const name = call.slice(0, call.indexOf("("));
          if (name === "respond") continue;
          const argumentsJson = call.slice(name.length + 1, -1);
          const res = await env.execute({
            sessionId,
            calls: { case: "toolCalls", value: { calls: [{ name, argumentsJson }] } },
          });
          assert.equal(res.results.length, 1);
        }
        const reply = await env.reply({ sessionId, text: `Done. ${outputs.join(", ")}` });
        assert.equal(reply.done, true);
        const { result } = await env.evaluate({ sessionId });
        assert.equal(result!.reward, 1, result!.detailsJson);
        assert.equal(result!.success, true);
      }
      // τ-bench sessions cannot be forked, take one call per step, and need a user.
      const s = await env.createSession({
        source: { case: "taskId", value: "taubench_airline_test_0" },
        user: { kind: { case: "scripted", value: {} } },
      });
      await assertRpcError(
        env.forkSession({ sessionId: s.sessionId }),
        Code.FAILED_PRECONDITION,
        /cannot be copied/,
      );
      await assertRpcError(
        env.execute({
          sessionId: s.sessionId,
          calls: { case: "source", value: "[get_user_details(user_id='x')]" },
        }),
        Code.INVALID_ARGUMENT,
        /exactly one call/,
      );
      const bad = await env.execute({
        sessionId: s.sessionId,
        calls: {
          case: "toolCalls",
          value: { calls: [{ name: "no_such_tool", argumentsJson: "{}" }] },
        },
      });
      assert.match(bad.results[0]!.output, /Unknown action no_such_tool/);
      await assertRpcError(
        env.advanceTurn({ sessionId: s.sessionId }),
        Code.FAILED_PRECONDITION,
        /for BFCL sessions/,
      );
      await assertRpcError(
        env.createSession({ source: { case: "taskId", value: "taubench_airline_test_0" } }),
        Code.FAILED_PRECONDITION,
        /No user simulator/,
      );
      await assertRpcError(
        env.createSession({
          source: { case: "taskId", value: "taubench_airline_test_999" },
          user: { kind: { case: "scripted", value: {} } },
        }),
        Code.NOT_FOUND,
        /taskIndex 999/,
      );
    } finally {
      env.close();
    }
  },
});

Deno.test({
  name: "env service - synthetic curriculum tasks run as Task messages and pass the checker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { generateTask } = await import("../services/synthesis/generate_tasks.ts");
    const { taskToProto } = await import("../services/synthesis/to_proto.ts");
    await using svc = await spawnService("env-simulator");
    const env = createClient(EnvService, svc.address);
    try {
      for (let i = 0; i < 20; i++) {
        const task = taskToProto(generateTask(7, i, i % 2 ? "train" : "test"));
        const { sessionId } = await env.createSession({ source: { case: "task", value: task } });
        for (const [t, turn] of task.turns.entries()) {
          if (turn.groundTruthCalls.length > 0) {
            const res = await env.execute({
              sessionId,
              calls: { case: "source", value: `[${turn.groundTruthCalls.join(", ")}]` },
            });
            for (const r of res.results) {
              assert.equal(r.isError, false, `${task.id} turn ${t}: ${r.output}`);
            }
          }
          await env.advanceTurn({ sessionId });
        }
        const { result } = await env.evaluate({ sessionId });
        assert.equal(result!.success, true, `${task.id}: ${result!.detailsJson.slice(0, 300)}`);
      }
    } finally {
      env.close();
    }
  },
});
