/**
 * policy-inference as real processes: nats-server, the service following the weights bus, a
 * second instance forwarding to the first through its OpenAI-compatible HTTP API (external
 * backend), real gRPC over loopback. Weight swaps under load lose no request; corrupted
 * updates and failed canaries are rejected; bad input gets clear status codes.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { WeightsAnnouncementSchema } from "@parlmt/gen/parlmt/v1/weights_pb.ts";
import { Code, createClient, RpcError } from "@parlmt/grpc";
import { connectNats, sha256Hex, weightsObjectName, WeightsPublisher } from "@parlmt/nats";
import { spawnService, startNatsServer } from "@parlmt/stack";
import { testModel } from "../services/policy-inference/_test_model.ts";
import { canaryMeta } from "../services/policy-inference/weights_swap.ts";

const CANARY = [296, 108, 273, 116, 32, 102, 297];

function learnerCanary(m: ReturnType<typeof testModel>): Promise<Record<string, string>> {
  return canaryMeta(m.config, m.weights, CANARY);
}

const isCode = (code: number) => (err: unknown) => err instanceof RpcError && err.code === code;

for (const replicas of [1, 2]) {
  Deno.test({
    name: `policy-inference (${replicas} engine replica${
      replicas > 1 ? "s" : ""
    }) - generate, swap under load, reject bad updates, external backend`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => scenario(replicas),
  });
}

async function scenario(replicas: number): Promise<void> {
  const m1 = testModel(1, { blockSize: 320 });
  const m2 = testModel(2, { blockSize: 320 });
  const dir = await Deno.makeTempDir({ prefix: "parlmt-policy-" });
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(m1.tokenizer.toJSON()));
  await using nats = await startNatsServer();
  await using policy = await spawnService("policy-inference", {
    args: [
      "--nats-url",
      nats.url,
      "--tokenizer",
      `${dir}/tokenizer.json`,
      "--max-batch",
      "8",
      "--engine-replicas",
      String(replicas),
    ],
  });
  const nc = await connectNats(nats.url);
  const client = createClient(PolicyService, policy.address);
  try {
    // No weights yet: a clear precondition error.
    const tokens = (ids: number[], extra: Record<string, unknown> = {}) => ({
      params: {
        prompt: { case: "tokens" as const, value: { tokenIds: ids } },
        sampling: { maxTokens: 8 },
        ...extra,
      },
    });
    await assert.rejects(client.generate(tokens([1, 2])), isCode(Code.FAILED_PRECONDITION));

    const publisher = await WeightsPublisher.open(nc);
    await publisher.publish(1n, m1.blob(1), await learnerCanary(m1));
    const waitVersion = async (v: bigint) => {
      const deadline = Date.now() + 20_000;
      let s = await client.getPolicyStatus({});
      while (s.weightsVersion < v && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        s = await client.getPolicyStatus({});
      }
      return s;
    };
    assert.equal((await waitVersion(1n)).weightsVersion, 1n);

    // Generate from a chat prompt and from token ids; streaming gives the same tokens.
    const chat = {
      params: {
        prompt: {
          case: "chat" as const,
          value: {
            messages: [{ role: Role.USER, content: "list the files" }],
            tools: [{ name: "ls", description: "list", parametersJson: "{}" }],
          },
        },
        sampling: { maxTokens: 10, seed: 3n, temperature: 0.8 },
      },
    };
    const g = await client.generate(chat);
    assert.equal(g.policyVersion, 1n);
    assert.equal(g.generation!.tokenIds.length, g.generation!.logprobs.length);
    assert.deepEqual(
      g.generation!.promptTokenIds,
      m1.template.renderPrompt([{ role: "user", content: "list the files" }], [{
        name: "ls",
        description: "list",
        parameters: {},
      }]),
    );
    const again = await client.generate(chat);
    assert.deepEqual(again.generation!.tokenIds, g.generation!.tokenIds, "seeded sampling");
    const streamed: number[] = [];
    let finish = "";
    for await (const msg of client.generateStream(chat)) {
      streamed.push(...msg.tokenIds);
      if (msg.finishReason) finish = msg.finishReason;
    }
    assert.deepEqual(streamed, g.generation!.tokenIds);
    assert.equal(finish, g.generation!.finishReason);

    // Bad input gets INVALID_ARGUMENT / NOT_FOUND naming the problem.
    await assert.rejects(
      client.generate(tokens(Array(400).fill(5))),
      (err: unknown) =>
        isCode(Code.INVALID_ARGUMENT)(err) && /exceed the limit/.test((err as Error).message),
    );
    await assert.rejects(
      client.generate(tokens([1], { sampling: { temperature: -1 } })),
      (err: unknown) => isCode(Code.INVALID_ARGUMENT)(err) && /temperature/.test(`${err}`),
    );
    await assert.rejects(client.generate(tokens([99999])), isCode(Code.INVALID_ARGUMENT));
    await assert.rejects(client.generate({ params: {} }), isCode(Code.INVALID_ARGUMENT));
    await assert.rejects(
      client.generate(tokens([1], { model: "nope" })),
      (err: unknown) => isCode(Code.NOT_FOUND)(err) && /Unknown model "nope"/.test(`${err}`),
    );

    // A cancelled call frees its slot.
    const ac = new AbortController();
    const cancelled = client.generate(tokens([1, 2, 3], { sampling: { maxTokens: 300 } }), {
      signal: ac.signal,
    });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await assert.rejects(cancelled);
    let status = await client.getPolicyStatus({});
    for (let i = 0; i < 100 && status.activeRequests > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = await client.getPolicyStatus({});
    }
    assert.equal(status.activeRequests, 0);

    // A weight swap mid-load loses no request; tokens record their versions.
    const load = Array.from(
      { length: 12 },
      (_, i) => client.generate(tokens([5 + i, 9, 33], { sampling: { maxTokens: 60 } })),
    );
    await new Promise((r) => setTimeout(r, 30));
    await publisher.publish(2n, m2.blob(2), await learnerCanary(m2));
    const results = await Promise.all(load);
    for (const r of results) {
      const gen = r.generation!;
      const ended = gen.tokenIds.at(-1) === m1.template.endId;
      assert.ok(gen.tokenIds.length === 60 || ended, `finished: ${gen.finishReason}`);
      assert.ok(gen.tokenVersions.every((v) => v === 1n || v === 2n));
    }
    assert.equal((await waitVersion(2n)).weightsVersion, 2n);
    const after = await client.generate(tokens([5, 9, 33]));
    assert.equal(after.policyVersion, 2n);

    // A failed canary is rolled back; a checksum mismatch is rejected.
    await publisher.publish(3n, m1.blob(3), await learnerCanary(m2));
    const deadline = Date.now() + 20_000;
    status = await client.getPolicyStatus({});
    while (!/Canary/.test(status.lastSwap) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      status = await client.getPolicyStatus({});
    }
    assert.match(status.lastSwap, /Canary of v3 failed/);
    assert.equal(status.weightsVersion, 2n);
    const good = m2.blob(4);
    const tampered = good.slice();
    tampered[tampered.length - 7] ^= 0xff;
    await publisher.store.putBlob({ name: weightsObjectName(4n) }, tampered);
    await publisher.announce(create(WeightsAnnouncementSchema, {
      version: 4n,
      object: weightsObjectName(4n),
      sizeBytes: BigInt(good.byteLength),
      sha256: sha256Hex(good),
      bucket: "parlmt-weights",
    }));
    while (!/Checksum mismatch/.test(status.lastSwap) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      status = await client.getPolicyStatus({});
    }
    assert.match(status.lastSwap, /Checksum mismatch for version 4/);
    assert.equal(status.weightsVersion, 2n);
    assert.equal((await client.generate(tokens([5]))).policyVersion, 2n);

    // OpenAI HTTP on the admin port: malformed JSON gets a 400 with a message.
    const bad = await fetch(`http://127.0.0.1:${policy.adminPort}/v1/chat/completions`, {
      method: "POST",
      body: "{oops",
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /Invalid JSON body/);

    // A second instance serves the first as an external backend through its HTTP API.
    await using peer = await spawnService("policy-inference", {
      args: [
        "--nats-url",
        "",
        "--external-base-url",
        `http://127.0.0.1:${policy.adminPort}/v1`,
        "--external-model",
        "parlmt-policy",
        "--external-model-id",
        "big",
      ],
    });
    const peerClient = createClient(PolicyService, peer.address);
    try {
      const ext = await peerClient.generate({ params: { ...chat.params, model: "big" } });
      assert.equal(ext.policyVersion, 2n);
      assert.ok(ext.generation!.tokenIds.length > 0);
      assert.equal(ext.generation!.logprobs.length, ext.generation!.tokenIds.length);
      const direct = await client.generate(chat);
      assert.deepEqual(ext.generation!.tokenIds, direct.generation!.tokenIds);
      const list = await peerClient.listModels({});
      assert.deepEqual(list.models.map((x) => [x.id, x.backend]), [
        ["parlmt-policy", "onnx"],
        ["big", "external"],
      ]);
    } finally {
      peerClient.close();
    }
  } finally {
    client.close();
    await nc.close();
    await Deno.remove(dir, { recursive: true });
  }
}
