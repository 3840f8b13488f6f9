/**
 * The rollout actor survives a learner that is not up yet (it retries its learner calls with
 * capped backoff and starts leasing once the learner listens), and a fatal failure of its loop
 * ends the process with a non-zero code instead of leaving it up and SERVING.
 */
import assert from "node:assert/strict";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";
import { freePort, type RolloutRig, startRolloutRig } from "./_rollout_rig.ts";

/** Resolves with the exit code, or undefined if the process still runs after `ms`. */
async function exitedWithin(exited: Promise<number>, ms: number): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An actor that runs `episodes` episodes, two at a time, against the rig and `learner`. */
function spawnActor(rig: RolloutRig, learner: string, id: string, episodes: number) {
  return spawnService("rollout-actor", {
    args: rig.actorArgs(learner, id, [
      "--max-episodes",
      String(episodes),
      "--concurrency",
      "2",
      "--max-tokens",
      "12",
      "--learner-backoff-max-ms",
      "1000",
    ]),
    stderr: { file: `${rig.dir}/actor.log` },
  });
}

Deno.test({
  name: "rollout actor - started before the learner, it retries and then leases and submits",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using rig = await startRolloutRig(7, 2, { minTurns: 1, maxTurns: 2 });
    const { dir } = rig;
    await rig.publish(1);
    const learnerPort = freePort();
    const actor = await spawnActor(rig, `127.0.0.1:${learnerPort}`, "early-actor", 3);
    const log = () => Deno.readTextFile(`${dir}/actor.log`).catch(() => "");
    try {
      // No learner yet: the actor keeps trying and stays up.
      assert.equal(await exitedWithin(actor.exited, 2500), undefined, await log());
      const metrics = await (await fetch(`http://127.0.0.1:${actor.adminPort}/metrics`)).text();
      const retries = /rollout_learner_retries_total\{method="leaseTasks"[^}]*\} (\d+)/.exec(
        metrics,
      );
      assert.ok(retries && Number(retries[1]) >= 2, metrics);
      const learnerUpAt = performance.now();

      await using learner = await spawnService("learner", {
        randomPorts: false,
        args: rig.learnerArgs(["--port", String(learnerPort), "--admin-port", "0"]),
        stderr: { file: `${dir}/learner.log` },
      });
      const code = await exitedWithin(actor.exited, 120_000);
      const text = await log();
      assert.equal(code, 0, text.slice(-3000));
      console.log(`actor done ${Math.round(performance.now() - learnerUpAt)} ms after the learner`);
      assert.match(text, /"msg":"Learner call failed; retrying".*"code":"UNAVAILABLE"/);
      assert.match(text, /"msg":"Learner reachable again"/);
      assert.match(text, /"msg":"Actor stopped".*"accepted":3/, text.slice(-2000));
      const client = createClient(LearnerService, learner.address);
      try {
        assert.equal((await client.getLearnerStatus({})).acceptedTrajectories, 3n);
      } finally {
        client.close();
      }
    } finally {
      await actor.stop("SIGKILL");
    }
  },
});

Deno.test({
  name: "rollout actor - a fatal failure of its loop exits the process non-zero",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-actor-fatal-" });
    try {
      // The "learner" is the actor's own gRPC server: it answers UNIMPLEMENTED for
      // LearnerService, which no retry can fix (the first attempts may find it not yet
      // listening: UNAVAILABLE, retried).
      const port = freePort();
      const actor = await spawnService("rollout-actor", {
        randomPorts: false,
        args: [
          "--port",
          String(port),
          "--admin-port",
          "0",
          "--learner-address",
          `127.0.0.1:${port}`,
          "--learner-backoff-max-ms",
          "200",
        ],
        stderr: { file: `${dir}/actor.log` },
      });
      const code = await exitedWithin(actor.exited, 30_000);
      if (code === undefined) await actor.stop("SIGKILL");
      const log = await Deno.readTextFile(`${dir}/actor.log`);
      assert.equal(code, 1, log.slice(-2000));
      assert.match(log, /"msg":"Actor failed".*does not implement the method/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "rollout actor - rides out a learner restart and keeps submitting",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using rig = await startRolloutRig(9, 2, { minTurns: 1, maxTurns: 2 });
    const { dir } = rig;
    await rig.publish(1);
    const learnerPort = freePort();
    const startLearner = () =>
      spawnService("learner", {
        randomPorts: false,
        args: rig.learnerArgs(["--port", String(learnerPort), "--admin-port", "0"]),
        stderr: { file: `${dir}/learner.log` },
      });
    let learner = await startLearner();
    const actor = await spawnActor(rig, `127.0.0.1:${learnerPort}`, "steady-actor", 6);
    const accepted = async () => {
      const client = createClient(LearnerService, learner.address);
      try {
        return (await client.getLearnerStatus({})).acceptedTrajectories;
      } finally {
        client.close();
      }
    };
    try {
      await waitUntil(async () => (await accepted()) >= 1n, 60_000, "a first trajectory");
      assert.equal(await learner.stop(), 0);
      // Down for a while: the actor's lease/renew calls (and submissions) meet UNAVAILABLE.
      assert.equal(await exitedWithin(actor.exited, 1500), undefined, "the actor stays up");
      learner = await startLearner();
      const code = await exitedWithin(actor.exited, 60_000);
      if (code === undefined) {
        // An actor whose event loop is blocked does not answer: say so instead of hanging.
        const metrics = await fetch(`http://127.0.0.1:${actor.adminPort}/metrics`, {
          signal: AbortSignal.timeout(5000),
        }).then((r) => r.text(), (err) => `rollout_unresponsive ${err}`);
        await actor.stop("SIGKILL"); // a blocked actor would never act on SIGTERM
        const text = await Deno.readTextFile(`${dir}/actor.log`);
        assert.fail(
          `the actor did not finish:\n${
            metrics.split("\n").filter((l) => l.startsWith("rollout_")).join("\n")
          }\n${text.slice(-4000)}`,
        );
      }
      const text = await Deno.readTextFile(`${dir}/actor.log`);
      assert.equal(code, 0, text.slice(-3000));
      assert.match(text, /"msg":"Learner reachable again"/);
      const stopped = /"msg":"Actor stopped".*"episodes":(\d+).*"failed":(\d+)/.exec(text);
      assert.ok(stopped, text.slice(-2000));
      // No episode is lost to the outage itself (its calls wait for the learner). The restarted
      // learner may have forgotten a group leased just before it stopped: such a submission is
      // refused (NOT_FOUND, "unknown group") and the actor moves on.
      const failures = text.split("\n").filter((l) => l.includes('"msg":"Episode failed"'));
      for (const f of failures) assert.match(f, /Cannot complete unknown group/, f.slice(0, 1500));
      assert.equal(Number(stopped[2]), failures.length, stopped[0]);
      assert.equal(Number(stopped[1]) + failures.length, 6, stopped[0]);
      assert.equal(await accepted(), BigInt(stopped[1]!), "each submission stored once");
    } finally {
      await actor.stop("SIGKILL");
      await learner.stop();
    }
  },
});
