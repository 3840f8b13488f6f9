/**
 * Other languages: a Python client (Debian python3-grpcio + python3-protobuf) calls the
 * services with message classes built from the descriptor set buf produces, and gets real
 * answers: the weights version policy-inference verified from the bus, the learner's status,
 * BFCL tasks listed by the env-simulator, and a clear NOT_FOUND for an unknown task.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { encodeWeights, initWeights, modelConfig } from "@parlmt/model";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { startLocalStack } from "@parlmt/stack";

/** A tiny model: policy-inference decodes every weights blob it is sent. */
const CONFIG = modelConfig({ nLayer: 1, nHead: 2, nEmbd: 16, nFf: 32, vocabSize: 64 });
const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Debian's interpreter, which has python3-grpcio and python3-protobuf. */
const PYTHON = Deno.env.get("PARLMT_PYTHON") ?? "/usr/bin/python3";

Deno.test({
  name: "python - a Python gRPC client calls the services through the buf descriptor set",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using stack = await startLocalStack();
    const nc = await connectNats(stack.nats.url);
    try {
      const publisher = await WeightsPublisher.open(nc);
      await publisher.publish(7n, encodeWeights(CONFIG, initWeights(CONFIG, 7), 7));
    } finally {
      await nc.close();
    }
    const policy = stack.services["policy-inference"].address;
    const calls = [
      { address: policy, service: "parlmt.v1.PolicyService", method: "GetPolicyStatus" },
      { address: policy, service: "parlmt.v1.PolicyService", method: "ListModels" },
      {
        address: stack.services.learner.address,
        service: "parlmt.v1.LearnerService",
        method: "GetLearnerStatus",
      },
      {
        address: stack.services["env-simulator"].address,
        service: "parlmt.v1.EnvService",
        method: "ListTasks",
        request: { category: "multi_turn_miss_func", pageSize: 3 },
      },
      {
        address: stack.services["env-simulator"].address,
        service: "parlmt.v1.EnvService",
        method: "GetTask",
        request: { taskId: "multi_turn_base_9999" },
      },
    ];
    // The bus delivers asynchronously: retry until the policy server reports version 7.
    // deno-lint-ignore no-explicit-any -- proto3 JSON of several response types
    let results: Array<Record<string, any>> = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const out = await new Deno.Command(PYTHON, {
        args: [
          `${ROOT}tests/python/parlmt_client.py`,
          `${ROOT}shared/gen/parlmt.binpb`,
          JSON.stringify(calls),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `python failed: ${stderr}`);
      results = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
      if (results[0]?.response?.weightsVersion === "7") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [status, models, learner, tasks, missing] = results;
    assert.equal(status!.ok, true);
    assert.equal(status!.response.weightsVersion, "7"); // uint64 is a JSON string in proto3 JSON
    assert.equal(status!.response.lastSwap, "ok");
    assert.deepEqual(models!.response.models[0], {
      id: "parlmt-policy",
      backend: "onnx",
      weightsVersion: "7",
      configJson: JSON.stringify(CONFIG),
    });
    assert.equal(learner!.ok, true);
    assert.equal(learner!.response.arm, "ARM_PAG_RL");
    assert.equal(tasks!.ok, true);
    assert.equal(tasks!.response.total, 200);
    assert.deepEqual(
      tasks!.response.tasks.map((t: { id: string }) => t.id),
      ["multi_turn_miss_func_0", "multi_turn_miss_func_1", "multi_turn_miss_func_2"],
    );
    assert.equal(missing!.ok, false);
    assert.equal(missing!.code, "NOT_FOUND");
    assert.match(missing!.details, /Unknown task id "multi_turn_base_9999"/);
  },
});
