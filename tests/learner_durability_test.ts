/**
 * The learner loses nothing on SIGKILL: every trajectory it acknowledged is still there after a
 * restart, a resubmission is a duplicate (never counted twice), and the slots it had not
 * filled are leased again while filled ones never are.
 */
import assert from "node:assert/strict";
import { create, toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { LearnerService, SubmitOutcome } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { Code, createClient, RpcError } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";

Deno.test({
  name: "learner - SIGKILL mid-submission loses no acknowledged trajectory and counts none twice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-learner-" });
    const tasksFile = `${dir}/tasks.jsonl`;
    const lines = Array.from(
      { length: 6 },
      (_, i) =>
        toJsonString(TaskSchema, create(TaskSchema, { id: `task-${i}`, category: "synthetic" })),
    );
    await Deno.writeTextFile(tasksFile, lines.join("\n") + "\n");
    const args = [
      "--data-dir",
      `${dir}/learner`,
      "--tasks-file",
      tasksFile,
      "--group-size",
      "2",
      "--lease-ttl-ms",
      "60000",
    ];
    try {
      let learner = await spawnService("learner", { args });
      let client = createClient(LearnerService, learner.address);
      const { leases } = await client.leaseTasks({ actorId: "actor-1", maxTasks: 12 });
      assert.equal(leases.length, 12, "6 tasks x 2 rollouts");
      const trajectory = (l: (typeof leases)[number]) => ({
        id: `traj-${l.groupId}-${l.indexInGroup}`,
        taskId: l.task!.id,
        groupId: l.groupId,
        leaseId: l.leaseId,
        actorId: "actor-1",
        indexInGroup: l.indexInGroup,
      });
      // Submit half of them sequentially (all acknowledged), then fire the rest and kill.
      const acked: string[] = [];
      for (const l of leases.slice(0, 6)) {
        const res = await client.submitTrajectory({ trajectory: trajectory(l) });
        assert.equal(res.outcome, SubmitOutcome.ACCEPTED);
        acked.push(trajectory(l).id);
      }
      const inFlight = leases.slice(6).map((l) =>
        client.submitTrajectory({ trajectory: trajectory(l) }).then(
          (r) => (r.outcome === SubmitOutcome.ACCEPTED ? acked.push(trajectory(l).id) : 0),
          () => 0, // cut off by the kill: not acknowledged, may or may not be stored
        )
      );
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(await learner.stop("SIGKILL"), 137);
      await Promise.all(inFlight);
      client.close();

      learner = await spawnService("learner", { args });
      client = createClient(LearnerService, learner.address);
      try {
        const status = await client.getLearnerStatus({});
        assert.ok(
          status.acceptedTrajectories >= BigInt(acked.length),
          `${status.acceptedTrajectories} < ${acked.length}`,
        );
        assert.ok(status.acceptedTrajectories <= 12n);
        // Every acknowledged trajectory is a duplicate now: stored once, counted once.
        for (const l of leases) {
          const t = trajectory(l);
          if (!acked.includes(t.id)) continue;
          const res = await client.submitTrajectory({ trajectory: t });
          assert.equal(res.outcome, SubmitOutcome.DUPLICATE, t.id);
        }
        assert.equal(
          (await client.getLearnerStatus({})).acceptedTrajectories,
          status.acceptedTrajectories,
        );
        // Unfilled slots come back; filled ones never do.
        const again = await client.leaseTasks({ actorId: "actor-2", maxTasks: 20 });
        const reissued = new Set(again.leases.map((l) => `traj-${l.groupId}-${l.indexInGroup}`));
        for (const id of acked) assert.ok(!reissued.has(id), `filled slot ${id} re-issued`);
        const originalGroups = new Set(leases.map((l) => l.groupId));
        const fromBefore = again.leases.filter((l) => originalGroups.has(l.groupId));
        assert.equal(
          fromBefore.length,
          12 - Number(status.acceptedTrajectories),
          "each unfilled slot once",
        );
        assert.equal(
          new Set(fromBefore.map((l) => `${l.groupId}/${l.indexInGroup}`)).size,
          fromBefore.length,
        );
        // Bad input.
        await assert.rejects(
          client.submitTrajectory({
            trajectory: { id: "x", groupId: "no-such-group#9", indexInGroup: 0 },
          }),
          (e: unknown) =>
            e instanceof RpcError && e.code === Code.NOT_FOUND && /unknown group/.test(e.message),
        );
        await assert.rejects(
          client.submitTrajectory({ trajectory: { id: "", groupId: "g" } }),
          (e: unknown) =>
            e instanceof RpcError && e.code === Code.INVALID_ARGUMENT && /empty id/.test(e.message),
        );
        await assert.rejects(
          client.leaseTasks({ actorId: "", maxTasks: 1 }),
          (e: unknown) =>
            e instanceof RpcError && e.code === Code.INVALID_ARGUMENT &&
            /actor_id is empty/.test(e.message),
        );
        // A learner started without --init-model only coordinates: it has no training to end.
        await assert.rejects(
          client.finishTraining({}),
          (e: unknown) =>
            e instanceof RpcError && e.code === Code.FAILED_PRECONDITION &&
            /does not train/.test(e.message),
        );
      } finally {
        client.close();
        assert.equal(await learner.stop(), 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
