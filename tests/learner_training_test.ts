/**
 * PAG-RL with real processes: the learner starts from a weights blob and publishes it, the
 * policy server verifies and serves it, an actor rolls out leased curriculum tasks, the learner
 * trains on complete groups, publishes new versions that the policy server swaps in, and after
 * a SIGKILL resumes from its checkpointed step and keeps training.
 */
import assert from "node:assert/strict";
import { toJsonString } from "@bufbuild/protobuf";
import { TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { spawnService, startNatsServer } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "../services/synthesis/generate_tasks.ts";
import { taskToProto } from "../services/synthesis/to_proto.ts";

Deno.test({
  name: "learner - trains on rollouts, publishes versions the policy serves, resumes after SIGKILL",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parlmt-train-" });
    try {
      const tasks = [0, 1, 2, 3].map((i) =>
        taskToProto(
          generateTask(5, i, "train", {
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
      await Deno.writeFile(`${dir}/init.safetensors`, model.blob(0));

      await using nats = await startNatsServer();
      await using env = await spawnService("env-simulator");
      await using policy = await spawnService("policy-inference", {
        args: ["--nats-url", nats.url, "--tokenizer", `${dir}/tokenizer.json`],
        stderr: { file: `${dir}/policy.log` },
      });
      const learnerArgs = [
        "--nats-url",
        nats.url,
        "--data-dir",
        `${dir}/learner`,
        "--tasks-file",
        `${dir}/tasks.jsonl`,
        "--group-size",
        "2",
        "--init-model",
        `${dir}/init.safetensors`,
        "--train-batch-size",
        "4",
        "--train-seq-len",
        "1536",
        "--lr",
        "0.001",
        "--checkpoint-every",
        "1",
      ];
      const learnerEnv = { LEARNER_FILTER_ZERO_VARIANCE: "false" };
      let learner = await spawnService("learner", {
        args: learnerArgs,
        env: learnerEnv,
        stderr: { file: `${dir}/learner.log` },
      });
      const policyClient = createClient(PolicyService, policy.address);
      let learnerClient = createClient(LearnerService, learner.address);
      try {
        await waitUntil(
          async () => (await policyClient.getPolicyStatus({})).weightsVersion >= 1n,
          30_000,
          "v1 served",
        );
        const actor = await spawnService("rollout-actor", {
          args: [
            "--learner-address",
            learner.address,
            "--env-address",
            env.address,
            "--policy-address",
            policy.address,
            "--concurrency",
            "2",
            "--max-tokens",
            "12",
          ],
        });
        try {
          await waitUntil(
            async () => (await learnerClient.getLearnerStatus({})).step >= 2n,
            90_000,
            "2 updates",
          );
          await waitUntil(
            async () => (await policyClient.getPolicyStatus({})).weightsVersion >= 2n,
            30_000,
            "v2 served",
          );
          const metrics = await Deno.readTextFile(`${dir}/learner/metrics.jsonl`);
          assert.match(metrics, /"losses\/policy"/);
          assert.match(metrics, /"rewards\/format"/);

          const before = await learnerClient.getLearnerStatus({});
          learnerClient.close();
          assert.equal(await learner.stop("SIGKILL"), 137);
          learner = await spawnService("learner", { args: learnerArgs, env: learnerEnv });
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
      } finally {
        policyClient.close();
        learnerClient.close();
        assert.equal(await learner.stop(), 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
