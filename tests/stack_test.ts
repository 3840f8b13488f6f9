/**
 * The local stack as real processes on loopback: nats-server with JetStream and every service.
 * Health and reflection answer on every service, metrics are served, a weights version
 * published on the bus reaches policy-inference, and SIGTERM stops everything cleanly.
 */
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { Code, createClient, RpcError } from "@parlmt/grpc";
import { encodeWeights, initWeights, modelConfig } from "@parlmt/model";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import {
  checkHealth,
  listServices,
  reflect,
  STACK_SERVICES,
  type StackService,
  startLocalStack,
} from "@parlmt/stack";

Deno.test({
  name: "stack - every service is healthy, reflectable, measured, and stops on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startLocalStack();
    let stopped = false;
    try {
      for (const [name, typeName] of Object.entries(STACK_SERVICES)) {
        const svc = stack.services[name as StackService];
        assert.equal(await checkHealth(svc.address), "SERVING", name);
        assert.equal(await checkHealth(svc.address, typeName), "SERVING", `${name} ${typeName}`);
        await assert.rejects(
          checkHealth(svc.address, "no.such.Service"),
          (err: unknown) => err instanceof RpcError && err.code === Code.NOT_FOUND,
        );

        // Reflection: the service is listed, and its file descriptor can be fetched by symbol.
        const names = await listServices(svc.address);
        assert.ok(names.includes(typeName), `${name} lists ${names}`);
        assert.ok(names.includes("grpc.health.v1.Health"));
        const file = await reflect(svc.address, {
          messageRequest: { case: "fileContainingSymbol", value: typeName },
        });
        assert.equal(file.messageResponse.case, "fileDescriptorResponse");
        const protos = file.messageResponse.value.fileDescriptorProto.map((b) =>
          fromBinary(FileDescriptorProtoSchema, b)
        );
        const svcFile = protos.find((p) =>
          p.service.some((s) => `${p.package}.${s.name}` === typeName)
        );
        assert.ok(svcFile, `descriptor of ${typeName} returned`);
        assert.ok(protos.some((p) => p.name === "parlmt/v1/common.proto"), "imports are included");

        // Admin port: Prometheus metrics and liveness.
        const metrics = await (await fetch(`http://127.0.0.1:${svc.adminPort}/metrics`)).text();
        assert.match(metrics, /# TYPE rpc_requests_total counter/);
        assert.match(metrics, new RegExp(`service="${name}"`));
        const healthz = await fetch(`http://127.0.0.1:${svc.adminPort}/healthz`);
        assert.equal(healthz.status, 200);
        await healthz.body?.cancel();
      }

      // A weights version published on the bus is verified and served by policy-inference.
      const nc = await connectNats(stack.nats.url);
      const policy = createClient(PolicyService, stack.services["policy-inference"].address);
      try {
        const publisher = await WeightsPublisher.open(nc);
        // A real weights blob (safetensors with its config): policy-inference decodes it.
        const config = modelConfig({ nLayer: 1, nHead: 2, nEmbd: 16, nFf: 32, vocabSize: 64 });
        await publisher.publish(1n, encodeWeights(config, initWeights(config, 1), 1));
        const deadline = Date.now() + 15_000;
        let status = await policy.getPolicyStatus({});
        while (status.weightsVersion !== 1n && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          status = await policy.getPolicyStatus({});
        }
        assert.equal(status.weightsVersion, 1n);
        assert.equal(status.lastSwap, "ok");
        const models = await policy.listModels({});
        assert.deepEqual(JSON.parse(models.models[0]!.configJson), config);
        // A malformed request is answered INVALID_ARGUMENT, clearly.
        await assert.rejects(
          policy.generate({}),
          (err: unknown) => err instanceof RpcError && err.code === Code.INVALID_ARGUMENT,
        );
      } finally {
        policy.close();
        await nc.close();
      }

      // The learner serves its live dashboard on its admin port.
      const dashboard = await fetch(
        `http://127.0.0.1:${stack.services.learner.adminPort}/dashboard`,
      );
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /uplot\.js/);

      const learner = createClient(LearnerService, stack.services.learner.address);
      try {
        const status = await learner.getLearnerStatus({});
        assert.equal(status.step, 0n);
      } finally {
        learner.close();
      }

      const codes = await stack.stop();
      stopped = true;
      for (const [name, code] of Object.entries(codes)) assert.equal(code, 0, `${name} exit code`);
    } finally {
      if (!stopped) await stack.stop();
    }
  },
});
