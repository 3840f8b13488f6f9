/**
 * SynthesisService over real gRPC: the service as a child process; GenerateTasks streams
 * deterministic tasks, Annotate verifies a BFCL ground truth, BuildDataset streams samples then
 * the card; bad knobs get INVALID_ARGUMENT naming the field, oversized requests are refused.
 */
import assert from "node:assert/strict";
import { assertRpcError } from "@parlmt/testing";
import { SynthesisService } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { Benchmark, Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Code, createClient, RpcError } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test({
  name: "synthesis service - generate, annotate, build dataset, bad input",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using svc = await spawnService("synthesis", {
      args: ["--max-tasks-per-request", "50", "--max-message-bytes", "1048576"],
    });
    const client = createClient(SynthesisService, svc.address, { maxMessageBytes: 8 << 20 });
    try {
      const req = { seed: 9n, count: 5, split: "test", options: { maxTurns: 4, minTurns: 2 } };
      const a = await collect(client.generateTasks(req));
      const b = await collect(client.generateTasks(req));
      assert.equal(a.length, 5);
      assert.deepEqual(a.map((x) => x.task!.id), b.map((x) => x.task!.id));
      assert.deepEqual(
        a.map((x) => x.task!.initialConfigJson),
        b.map((x) => x.task!.initialConfigJson),
      );
      assert.ok(a.every((x) => x.task!.split === "test" && /^f[45]$/.test(x.task!.templateFamily)));

      // Annotate a generated task and a BFCL-style task: every block verifies.
      const ann = await client.annotate({ source: { case: "task", value: a[0]!.task! } });
      assert.equal(ann.ok, true);
      assert.ok(ann.steps.length >= 2);
      assert.match(ann.steps[0]!.progress!.text, /^<progress>[\s\S]*plan: [\s\S]*<\/progress>$/);
      const bfcl = await client.annotate({
        source: {
          case: "task",
          value: {
            id: "inline_fs",
            benchmark: Benchmark.BFCL,
            category: "base",
            involvedClasses: ["GorillaFileSystem"],
            initialConfigJson: JSON.stringify({
              GorillaFileSystem: {
                root: {
                  ws: {
                    type: "directory",
                    contents: {
                      docs: {
                        type: "directory",
                        contents: { "a.txt": { type: "file", content: "hi there" } },
                      },
                    },
                  },
                },
              },
            }),
            turns: [
              {
                userMessages: [{ role: Role.USER, content: "find a and show it" }],
                groundTruthCalls: [
                  "find(path='.', name='a')",
                  "cd(folder='docs')",
                  "cat(file_name='a.txt')",
                ],
              },
            ],
          } as never,
        },
      });
      assert.equal(bfcl.ok, true, JSON.stringify(bfcl.steps.map((s) => s.verification)));
      assert.match(bfcl.steps[0]!.progress!.plan.join(";"), /cd\(folder=\?\)/);

      // BuildDataset streams samples, then the card.
      const events = await collect(
        client.buildDataset({ seed: 1n, taskCount: 6, options: { maxTurns: 3 } }),
      );
      const card = events.at(-1)!.event;
      assert.equal(card.case, "card");
      const samples = events.filter((e) => e.event.case === "sample");
      assert.equal(samples.length, card.case === "card" ? card.value.sampleCount : -1);
      assert.ok(samples.length > 0);

      // Bad input.
      await assertRpcError(
        collect(client.generateTasks({ ...req, options: { minTurns: 2, maxTurns: 9 } })),
        Code.INVALID_ARGUMENT,
        /options\.max_turns/,
      );
      await assertRpcError(
        collect(client.generateTasks({ ...req, options: { missParamRate: 1.5 } })),
        Code.INVALID_ARGUMENT,
        /options\.miss_param_rate/,
      );
      await assertRpcError(
        collect(client.generateTasks({ ...req, options: { classes: ["NoSuchAPI"] } })),
        Code.INVALID_ARGUMENT,
        /options\.classes/,
      );
      await assertRpcError(
        collect(client.generateTasks({ ...req, split: "dev" })),
        Code.INVALID_ARGUMENT,
        /"split"/,
      );
      await assertRpcError(
        collect(client.generateTasks({ ...req, count: 51 })),
        Code.INVALID_ARGUMENT,
        /"count"/,
      );
      await assertRpcError(
        collect(client.buildDataset({ seed: 1n, taskCount: 1000 })),
        Code.INVALID_ARGUMENT,
        /"task_count"/,
      );
      await assertRpcError(client.annotate({}), Code.INVALID_ARGUMENT, /"source"/);
      await assertRpcError(
        client.annotate({
          source: { case: "task", value: { ...a[0]!.task!, initialConfigJson: "{nope" } },
        }),
        Code.INVALID_ARGUMENT,
        /initial_config_json/,
      );
      const huge = { ...a[0]!.task!, id: "x".repeat(2 << 20) };
      await assertRpcError(
        client.annotate({ source: { case: "task", value: huge } }),
        Code.RESOURCE_EXHAUSTED,
        /./,
      );
      // Still serving.
      assert.equal((await collect(client.generateTasks({ ...req, count: 1 }))).length, 1);
    } finally {
      client.close();
    }
  },
});

Deno.test({
  name: "synthesis service - annotates a τ-bench gold trajectory, and names a bad τ-bench id",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using svc = await spawnService("synthesis");
    const client = createClient(SynthesisService, svc.address);
    try {
      const res = await client.annotate({
        source: {
          case: "task",
          value: { id: "taubench_airline_test_0", benchmark: Benchmark.TAUBENCH },
        },
      });
      assert.equal(res.ok, true);
      assert.ok(res.steps.length > 0);
      assert.ok(res.steps.every((s) => s.verification?.ok), "every block verifies");
      assert.match(res.steps[0]!.progress!.text, /plan:/);
      await assert.rejects(
        client.annotate({
          source: {
            case: "task",
            value: { id: "taubench_airline_test_999", benchmark: Benchmark.TAUBENCH },
          },
        }),
        (e: unknown) =>
          e instanceof RpcError && e.code === Code.INVALID_ARGUMENT &&
          /taubench_airline_test_999/.test(e.message),
      );
    } finally {
      client.close();
    }
  },
});
