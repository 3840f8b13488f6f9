/**
 * The rollout actor as a real process against real services on loopback: nats-server, the
 * env-simulator, policy-inference serving a tiny model received over the weights bus, and the
 * learner leasing synthetic curriculum tasks. The actor runs its episodes, submits them and
 * exits; the learner holds every trajectory once, with the exact tokens, behaviour logprobs and
 * weights version of every generation and the checker's verdict.
 */
import assert from "node:assert/strict";
import { toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { createClient } from "@parlmt/grpc";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { spawnService, startNatsServer } from "@parlmt/stack";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { canaryMeta } from "../services/policy-inference/weights_swap.ts";
import { TrajectoryStore } from "../services/learner/trajectory_store.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "../services/synthesis/generate_tasks.ts";
import { taskToProto } from "../services/synthesis/to_proto.ts";

Deno.test({
  name: "rollout actor - runs leased episodes end to end and the learner stores each once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-actor-" });
    try {
      const tasks = [0, 1].map((i) =>
        taskToProto(
          generateTask(3, i, "train", {
            ...DEFAULT_GEN_OPTIONS,
            classes: ["MessageAPI"],
            minTurns: 1,
            maxTurns: 2,
          }),
        )
      );
      await Deno.writeTextFile(
        `${dir}/tasks.jsonl`,
        tasks.map((t) => toJsonString(TaskSchema, t)).join("\n"),
      );
      const model = testModel(5, { blockSize: 2048, nLayer: 1 });
      await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(model.tokenizer.toJSON()));

      await using nats = await startNatsServer();
      await using env = await spawnService("env-simulator");
      await using policy = await spawnService("policy-inference", {
        args: ["--nats-url", nats.url, "--tokenizer", `${dir}/tokenizer.json`],
      });
      await using learner = await spawnService("learner", {
        args: [
          "--nats-url",
          nats.url,
          "--data-dir",
          `${dir}/learner`,
          "--tasks-file",
          `${dir}/tasks.jsonl`,
          "--group-size",
          "2",
        ],
      });
      const nc = await connectNats(nats.url);
      try {
        const publisher = await WeightsPublisher.open(nc);
        await publisher.publish(
          1n,
          model.blob(1),
          await canaryMeta(model.config, model.weights, [1, 2, 3, 4]),
        );
      } finally {
        await nc.close();
      }

      const actor = await spawnService("rollout-actor", {
        args: [
          "--learner-address",
          learner.address,
          "--env-address",
          env.address,
          "--policy-address",
          policy.address,
          "--actor-id",
          "actor-test",
          "--max-episodes",
          "4",
          "--concurrency",
          "2",
          "--max-tokens",
          "12",
          "--temperature",
          "1",
        ],
        stderr: { file: `${dir}/actor.log` },
      });
      const timeout = setTimeout(() => actor.stop("SIGKILL"), 120_000);
      const { code } = await actor.child.status;
      clearTimeout(timeout);
      assert.equal(code, 0, await Deno.readTextFile(`${dir}/actor.log`).catch(() => ""));
      const log = await Deno.readTextFile(`${dir}/actor.log`);
      assert.match(log, /"msg":"Actor stopped".*"accepted":4/, log.slice(-2000));

      const client = createClient(LearnerService, learner.address);
      try {
        assert.equal((await client.getLearnerStatus({})).acceptedTrajectories, 4n);
      } finally {
        client.close();
      }
      assert.equal(await learner.stop(), 0);
      const store = await TrajectoryStore.open(`${dir}/learner/trajectories`);
      try {
        const stored = store.unconsumed();
        assert.equal(stored.length, 4);
        assert.deepEqual(new Set(stored.map((t) => `${t.groupId}/${t.indexInGroup}`)).size, 4);
        for (const t of stored) {
          assert.equal(t.actorId, "actor-test");
          assert.ok(t.check, "the checker ran");
          assert.ok(t.turns.length >= 1);
          for (const turn of t.turns) {
            for (const step of turn.steps) {
              const g = step.generation!;
              assert.ok(g.promptTokenIds.length > 0 && g.tokenIds.length > 0);
              assert.equal(g.logprobs.length, g.tokenIds.length);
              assert.deepEqual(g.tokenVersions, g.tokenIds.map(() => 1n));
            }
          }
        }
      } finally {
        store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
