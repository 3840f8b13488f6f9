/**
 * Fault test: an actor killed with SIGKILL in the middle of its episodes loses no task (its
 * leases expire and are re-issued to another actor) and no trajectory is counted twice.
 */
import assert from "node:assert/strict";
import { toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { createClient } from "@parlmt/grpc";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { spawnService, startNatsServer } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { canaryMeta } from "../services/policy-inference/weights_swap.ts";
import { TrajectoryStore } from "../services/learner/trajectory_store.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "../services/synthesis/generate_tasks.ts";
import { taskToProto } from "../services/synthesis/to_proto.ts";

Deno.test({
  name: "rollout actor - a killed actor loses no task and no trajectory counts twice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-fault-" });
    try {
      const tasks = [0, 1, 2].map((i) =>
        taskToProto(
          generateTask(11, i, "train", {
            ...DEFAULT_GEN_OPTIONS,
            classes: ["MessageAPI"],
            minTurns: 2,
            maxTurns: 3,
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
          "--epochs",
          "1",
          "--lease-ttl-ms",
          "1500",
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
      const actorArgs = (id: string) => [
        "--learner-address",
        learner.address,
        "--env-address",
        env.address,
        "--policy-address",
        policy.address,
        "--actor-id",
        id,
        "--concurrency",
        "3",
        "--max-tokens",
        "48",
      ];
      const status = createClient(LearnerService, learner.address);
      try {
        // The first actor takes leases, then dies mid-episode.
        const doomed = await spawnService("rollout-actor", { args: actorArgs("doomed") });
        await waitUntil(
          async () => (await status.getLearnerStatus({})).activeLeases >= 3,
          30_000,
          "leases",
        );
        assert.equal(await doomed.stop("SIGKILL"), 137);
        const before = (await status.getLearnerStatus({})).acceptedTrajectories;
        assert.ok(before < 6n, "killed before finishing everything");

        // A second actor gets the expired leases again and finishes every slot.
        const survivor = await spawnService("rollout-actor", { args: actorArgs("survivor") });
        await waitUntil(
          async () => (await status.getLearnerStatus({})).acceptedTrajectories === 6n,
          90_000,
          "6 trajectories",
        );
        assert.equal(await survivor.stop(), 0);
        const final = await status.getLearnerStatus({});
        assert.equal(final.acceptedTrajectories, 6n);
        assert.equal(final.activeLeases, 0);
      } finally {
        status.close();
      }
      assert.equal(await learner.stop(), 0);
      const store = await TrajectoryStore.open(`${dir}/learner/trajectories`);
      try {
        const stored = store.unconsumed();
        assert.equal(stored.length, 6, "each slot once");
        assert.equal(new Set(stored.map((t) => `${t.groupId}/${t.indexInGroup}`)).size, 6);
        assert.deepEqual(
          new Set(stored.map((t) => t.taskId)),
          new Set(tasks.map((t) => t.id)),
          "no task lost",
        );
      } finally {
        store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
