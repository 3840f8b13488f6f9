/**
 * The model-aware check, the LLM writer and trajectory annotation against real processes: the
 * project's policy-inference serving a tiny random model (an exported HF/Optimum folder) as the
 * OpenAI-compatible peer, and the synthesis service over gRPC. The tiny model writes garbage, so
 * every block fails the model-aware check and every paraphrase/summary is rejected, with reasons
 * and counts; bad URLs and an unreachable endpoint get clear errors and the service keeps serving.
 */
import assert from "node:assert/strict";
import { assertRpcError } from "@parlmt/testing";
import { Executor, getTask, parseCall } from "@parlmt/bfcl";
import { SynthesisService } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { Code, createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { startOpenAiPolicy } from "./_openai_policy.ts";
import { DEFAULT_GEN_OPTIONS } from "../services/synthesis/generate_tasks.ts";
import { runSynth } from "../services/synthesis/synth.ts";

Deno.test({
  name: "synthesis endpoints - model-aware check, LLM writer, trajectories, bad endpoints",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-synth-ep-" });
    try {
      await using policy = await startOpenAiPolicy({ blockSize: 4608 });
      await using svc = await spawnService("synthesis", {});
      const client = createClient(SynthesisService, svc.address, { maxMessageBytes: 8 << 20 });
      const url = policy.url;
      try {
        const [gen] = await Array.fromAsync(client.generateTasks({
          seed: 4n,
          count: 1,
          options: { classes: ["MathAPI"], maxTurns: 2, minTurns: 1 },
        }));
        const task = gen!.task!;
        // The model-aware check: garbage from the tiny model fails every block, with reasons.
        const checked = await client.annotate({
          source: { case: "task", value: task },
          policyUrl: url,
          policyModel: "tiny",
        });
        assert.ok(checked.steps.every((s) => s.verification!.ok), "blocks themselves verify");
        assert.ok(checked.steps.every((s) => s.modelCheck !== undefined));
        const failed = checked.steps.filter((s) => !s.modelCheck!.ok);
        assert.equal(checked.modelCheckFailed, failed.length);
        assert.ok(failed.length > 0);
        assert.equal(
          checked.modelCheckDropRate,
          Number((failed.length / checked.steps.length).toFixed(4)),
        );
        assert.equal(checked.ok, false);
        for (const s of failed) assert.match(s.modelCheck!.reasons.join("\n"), /^model-aware: /);

        // Bad endpoints: clear errors naming the field or URL; the service keeps serving.
        const withUrl = (policyUrl: string, policyModel = "tiny") =>
          client.annotate({ source: { case: "task", value: task }, policyUrl, policyModel });
        await assertRpcError(withUrl("not a url"), Code.INVALID_ARGUMENT, /policy_url.*not a URL/);
        await assertRpcError(
          withUrl("ftp://x/v1"),
          Code.INVALID_ARGUMENT,
          /policy_url.*http or https/,
        );
        await assertRpcError(
          withUrl("http://127.0.0.1:1/v1"),
          Code.UNAVAILABLE,
          /Cannot reach policy_url http:\/\/127\.0\.0\.1:1\/v1\/chat\/completions/,
        );
        await assertRpcError(
          withUrl(url, "nope"),
          Code.FAILED_PRECONDITION,
          /policy_url .* answered 404/,
        );

        // A replayed BFCL ground truth as a trajectory (the task found by its id): blocks verify.
        const bfcl = getTask("multi_turn_base_0")!;
        const ex = new Executor(bfcl.involvedClasses, bfcl.initialConfig, bfcl.longContext);
        const turns = bfcl.groundTruth.map((calls, t) => ({
          turnIndex: t,
          userMessages: bfcl.question[t]!.map((q) => ({ role: Role.USER, content: q.content })),
          steps: calls.map((c) => ({
            calls: [{ source: c }],
            results: [{ output: ex.executeParsed(parseCall(c)) }],
          })),
        }));
        const tr = await client.annotate({
          source: { case: "trajectory", value: { id: "r0", taskId: bfcl.id, turns } as never },
        });
        assert.equal(tr.ok, true, JSON.stringify(tr.steps.map((s) => s.verification)));
        const gtCalls = bfcl.groundTruth.flat().length;
        assert.equal(tr.steps.length, gtCalls + bfcl.groundTruth.length);
        // A wrong call: the block after it claims only the failure.
        const wrong = await client.annotate({
          source: {
            case: "trajectory",
            value: {
              id: "r1",
              taskId: bfcl.id,
              turns: [{
                ...turns[0]!,
                steps: [{ calls: [{ name: "cd", argumentsJson: '{"folder": "nowhere"}' }] }],
              }],
            } as never,
          },
        });
        assert.equal(wrong.ok, true);
        assert.deepEqual(wrong.steps[1]!.progress!.summary, [
          "done: cd(folder='nowhere') -> failed",
        ]);
        assert.equal(wrong.steps[1]!.progress!.plan.length, bfcl.groundTruth[0]!.length);
        await assertRpcError(
          client.annotate({
            source: { case: "trajectory", value: { id: "r2", taskId: "nope", turns } as never },
          }),
          Code.INVALID_ARGUMENT,
          /trajectory_task/,
        );

        // The synth CLI with the writer and the check on the same peer: rejections are counted.
        const out = `${dir}/synth`;
        const { card } = await runSynth(
          out,
          {
            seed: 5,
            taskCount: 2,
            testFraction: 0,
            options: { ...DEFAULT_GEN_OPTIONS, classes: ["MathAPI"], maxTurns: 2 },
            modes: ["progress"],
          },
          true,
          {
            writer: { baseUrl: url, model: "tiny" },
            policy: { baseUrl: url, model: "tiny" },
          },
        );
        const w = card.writer!;
        assert.ok(w.paraphrasesTried > 0 && w.summariesTried > 0, JSON.stringify(w));
        assert.equal(w.paraphrasesAccepted + w.paraphrasesRejected, w.paraphrasesTried);
        assert.equal(w.summariesAccepted + w.summariesDropped, w.summariesTried);
        assert.ok(w.summariesDropped > 0 && Object.keys(w.reasons).length > 0);
        assert.ok(card.modelCheck!.steps > 0 && card.modelCheck!.failed > 0);
        assert.equal(card.droppedCount, card.modelCheck!.droppedTasks);
        const md = JSON.parse(await Deno.readTextFile(`${out}/dataset_card.json`));
        assert.deepEqual(md.writer, w);

        assert.equal(
          (await Array.fromAsync(client.generateTasks({ seed: 1n, count: 1 }))).length,
          1,
        );
      } finally {
        client.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
