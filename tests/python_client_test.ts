/**
 * Other languages: a Python client (Debian python3-grpcio + python3-protobuf) calls the
 * services with message classes built from the descriptor set buf produces, and gets real
 * answers: the weights version policy-inference verified from the bus, the learner's status,
 * and a clear status code for a method that is not implemented.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { startLocalStack } from "@parlmt/stack";

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
      await publisher.publish(7n, new Uint8Array(1000).fill(7), { config: '{"layers":2}' });
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
        address: stack.services.synthesis.address,
        service: "parlmt.v1.SynthesisService",
        method: "Annotate",
        request: { task: { id: "t1" } },
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
    const [status, models, learner, annotate] = results;
    assert.equal(status!.ok, true);
    assert.equal(status!.response.weightsVersion, "7"); // uint64 is a JSON string in proto3 JSON
    assert.equal(status!.response.lastSwap, "ok");
    assert.deepEqual(models!.response.models[0], {
      id: "parlmt-policy",
      backend: "onnx",
      weightsVersion: "7",
      configJson: '{"layers":2}',
    });
    assert.equal(learner!.ok, true);
    assert.equal(learner!.response.arm, "ARM_PAG_RL");
    assert.equal(annotate!.ok, false);
    assert.equal(annotate!.code, "UNIMPLEMENTED");
    assert.match(annotate!.details, /SynthesisService\/Annotate/);
  },
});
