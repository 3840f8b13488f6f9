/**
 * PAG-RL with real processes: the learner starts from a weights blob and publishes it, the
 * policy server verifies and serves it, an actor rolls out leased curriculum tasks, the learner
 * trains on complete groups, publishes new versions that the policy server swaps in, and after
 * a SIGKILL resumes from its checkpointed step; FinishTraining then publishes the running average
 * of the weights, which the policy server verifies and serves.
 */
import assert from "node:assert/strict";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";
import { startRolloutRig } from "./_rollout_rig.ts";

Deno.test({
  name: "learner - trains on rollouts, publishes versions the policy serves, resumes after SIGKILL",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using rig = await startRolloutRig(5, 4, { minTurns: 1, maxTurns: 2 });
    const { dir } = rig;
    const learnerArgs = rig.learnerArgs([
      ...await rig.trainingArgs(0.001, 1),
      "--ema-decay",
      "0.9",
    ]);
    const learnerEnv = { LEARNER_FILTER_ZERO_VARIANCE: "false" };
    const startLearner = () =>
      spawnService("learner", {
        args: learnerArgs,
        env: learnerEnv,
        stderr: { file: `${dir}/learner.log` },
      });
    const logs = async () => {
      const tail = async (f: string) =>
        (await Deno.readTextFile(`${dir}/${f}`).catch(() => "")).slice(-1500);
      return `--- learner\n${await tail("learner.log")}\n--- actor\n${await tail(
        "actor.log",
      )}\n--- policy\n${await tail("policy.log")}`;
    };
    let learner = await startLearner();
    const policyClient = createClient(PolicyService, rig.policy.address);
    let learnerClient = createClient(LearnerService, learner.address);
    try {
      const served = async (v: bigint) =>
        (await policyClient.getPolicyStatus({})).weightsVersion >= v;
      await waitUntil(() => served(1n), 30_000, "v1 served");
      const actor = await spawnService("rollout-actor", {
        args: [
          "--learner-address",
          learner.address,
          "--env-address",
          rig.env.address,
          "--policy-address",
          rig.policy.address,
          "--concurrency",
          "2",
          "--max-tokens",
          "12",
        ],
        stderr: { file: `${dir}/actor.log` },
      });
      try {
        await waitUntil(
          async () => (await learnerClient.getLearnerStatus({})).step >= 2n,
          90_000,
          "2 updates",
        )
          .catch(async (err) => {
            throw new Error(`${err.message}\n${await logs()}`);
          });
        await waitUntil(() => served(2n), 30_000, "v2 served");
        const metrics = await Deno.readTextFile(`${dir}/learner/metrics.jsonl`);
        assert.match(metrics, /"losses\/policy"/);
        assert.match(metrics, /"rewards\/format"/);

        const before = await learnerClient.getLearnerStatus({});
        learnerClient.close();
        assert.equal(await learner.stop("SIGKILL"), 137);
        learner = await startLearner();
        learnerClient = createClient(LearnerService, learner.address);
        const resumed = await learnerClient.getLearnerStatus({});
        // checkpoint-every 1: at most the update in flight at the kill is redone.
        assert.ok(
          resumed.step >= before.step - 1n && resumed.step > 0n,
          `${before.step} -> ${resumed.step}`,
        );
        assert.ok(
          resumed.acceptedTrajectories >= before.acceptedTrajectories,
          "no trajectory lost",
        );
      } finally {
        await actor.stop();
      }
      // The end of the run: the average of the updates' weights becomes the served policy.
      const finished = await learnerClient.finishTraining({});
      assert.ok(finished.averaged, "--ema-decay 0.9 keeps an average");
      assert.ok(finished.step >= 1n, `${finished.step} updates`);
      await waitUntil(() => served(finished.weightsVersion), 30_000, "the average served");
      assert.deepEqual(
        await learnerClient.finishTraining({}),
        finished,
        "a second call returns the same version",
      );
      assert.ok((await Deno.stat(`${dir}/learner/average.safetensors`)).size > 0);
      const status = await learnerClient.getLearnerStatus({});
      assert.equal(status.weightsVersion, finished.weightsVersion);
    } finally {
      policyClient.close();
      learnerClient.close();
      assert.equal(await learner.stop(), 0);
    }
  },
});

Deno.test("learner: a bad --reward-weights stops it at start with the term named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parlmt-learner-bad-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "services/learner/main.ts",
        "--port=0",
        "--admin-port=0",
        "--data-dir",
        dir,
        "--reward-weights",
        "format=0,speed=1",
      ],
      // A learner that accepted the flag would serve until killed: fail instead of hanging.
      signal: AbortSignal.timeout(60_000),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text);
    assert.match(text, /unknown term \\"speed\\"/);
    // Nothing was written: the check runs before the learner opens its state.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
