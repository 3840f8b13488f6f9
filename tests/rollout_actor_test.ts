/**
 * The rollout actor as a real process against real services on loopback: nats-server, the
 * env-simulator, policy-inference serving a tiny model received over the weights bus, and the
 * learner leasing synthetic curriculum tasks. The actor runs its episodes, submits them and
 * exits; the learner holds every trajectory once, with the exact tokens, behaviour logprobs and
 * weights version of every generation and the checker's verdict.
 */
import assert from "node:assert/strict";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { TrajectoryStore } from "../services/learner/trajectory_store.ts";
import { startRolloutRig } from "./_rollout_rig.ts";

Deno.test({
  name: "rollout actor - runs leased episodes end to end and the learner stores each once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using rig = await startRolloutRig(3, 2, { minTurns: 1, maxTurns: 2 });
    const { dir } = rig;
    await using learner = await spawnService("learner", {
      args: rig.learnerArgs(),
    });
    await rig.publish(1);

    const actor = await spawnService("rollout-actor", {
      args: rig.actorArgs(learner.address, "actor-test", [
        "--max-episodes",
        "4",
        "--concurrency",
        "2",
        "--max-tokens",
        "12",
        "--temperature",
        "1",
      ]),
      stderr: { file: `${dir}/actor.log` },
    });
    const timeout = setTimeout(() => actor.stop("SIGKILL"), 120_000);
    const code = await actor.exited;
    clearTimeout(timeout);
    const log = await Deno.readTextFile(`${dir}/actor.log`).catch(() => "");
    assert.equal(code, 0, log);
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
      assert.equal(new Set(stored.map((t) => `${t.groupId}/${t.indexInGroup}`)).size, 4);
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
  },
});
