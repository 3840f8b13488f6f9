/**
 * Fault test: an actor killed with SIGKILL in the middle of its episodes loses no task (its
 * leases expire and are re-issued to another actor) and no trajectory is counted twice.
 */
import assert from "node:assert/strict";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";
import { TrajectoryStore } from "../services/learner/trajectory_store.ts";
import { startRolloutRig } from "./_rollout_rig.ts";

Deno.test({
  name: "rollout actor - a killed actor loses no task and no trajectory counts twice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using rig = await startRolloutRig(11, 3, { minTurns: 2, maxTurns: 3 });
    const { dir } = rig;
    await using learner = await spawnService("learner", {
      args: rig.learnerArgs(["--epochs", "1", "--lease-ttl-ms", "1500"]),
    });
    await rig.publish(1);
    const actorArgs = (id: string) =>
      rig.actorArgs(learner.address, id, ["--concurrency", "3", "--max-tokens", "48"]);
    const status = createClient(LearnerService, learner.address);
    try {
      // The first actor takes leases, then dies mid-episode.
      const doomed = await spawnService("rollout-actor", {
        args: actorArgs("doomed"),
        stderr: { file: `${dir}/doomed.log` },
      });
      await waitUntil(
        async () => (await status.getLearnerStatus({})).activeLeases >= 3,
        30_000,
        "leases",
      );
      assert.equal(await doomed.stop("SIGKILL"), 137);
      const before = (await status.getLearnerStatus({})).acceptedTrajectories;
      assert.ok(before < 6n, "killed before finishing everything");

      // A second actor gets the expired leases again and finishes every slot.
      const survivor = await spawnService("rollout-actor", {
        args: actorArgs("survivor"),
        stderr: { file: `${dir}/survivor.log` },
      });
      await waitUntil(
        async () => (await status.getLearnerStatus({})).acceptedTrajectories === 6n,
        90_000,
        "6 trajectories",
      ).catch(async (err) => {
        const tail = async (f: string) =>
          (await Deno.readTextFile(`${dir}/${f}`).catch(() => "")).slice(-1500);
        throw new Error(
          `${err.message}\n--- survivor\n${await tail("survivor.log")}\n--- policy\n${await tail(
            "policy.log",
          )}`,
        );
      });
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
        new Set(rig.tasks.map((t) => t.id)),
        "no task lost",
      );
    } finally {
      store.close();
    }
  },
});
