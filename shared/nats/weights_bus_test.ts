import assert from "node:assert/strict";
import {
  connectNats,
  sha256Hex,
  subscribeWeights,
  WeightsPublisher,
  type WeightsUpdate,
} from "@parlmt/nats";
import { startNatsServer } from "@parlmt/stack";
import { waitUntil } from "@parlmt/testing";

function payload(version: number, size = 4096): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + version * 7) & 0xff;
  return bytes;
}

/** Collects updates from a subscription until `count` arrive; returns them and a stop(). */
function collect(
  url: string,
  count: number,
  onRejected?: (reason: string) => void,
  busyMs = 0,
) {
  const controller = new AbortController();
  const updates: WeightsUpdate[] = [];
  const done = (async () => {
    const nc = await connectNats(url, { name: "test-subscriber" });
    try {
      for await (
        const update of subscribeWeights(nc, {
          signal: controller.signal,
          onRejected: (_a, reason) => onRejected?.(reason),
        })
      ) {
        updates.push(update);
        if (updates.length >= count) break;
        // Simulates a consumer that is busy (swapping weights) before it reads the next one.
        if (busyMs > 0) await new Promise((r) => setTimeout(r, busyMs));
      }
    } finally {
      await nc.close();
    }
  })();
  return { updates, done, stop: () => controller.abort() };
}

Deno.test("weights bus - 3 versions reach 2 subscribers verified and in order", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  try {
    const publisher = await WeightsPublisher.open(nc);
    const a = collect(nats.url, 3);
    const b = collect(nats.url, 3);
    // Let both consumers attach before the first version (they would otherwise start at it anyway).
    await new Promise((r) => setTimeout(r, 200));
    for (const v of [1, 2, 3]) {
      await publisher.publish(BigInt(v), payload(v), { step: String(v * 10) });
      // Pace the versions so that neither subscriber is behind (nothing to skip).
      await waitUntil(
        () => a.updates.length >= v && b.updates.length >= v,
        10_000,
        "the subscriber",
      );
    }
    await Promise.all([a.done, b.done]);
    for (const sub of [a, b]) {
      assert.deepEqual(sub.updates.map((u) => u.version), [1n, 2n, 3n]);
      for (const u of sub.updates) {
        assert.deepEqual(u.bytes, payload(Number(u.version)));
        assert.equal(u.sha256, sha256Hex(u.bytes));
        assert.equal(u.meta.step, String(Number(u.version) * 10));
      }
    }
  } finally {
    await nc.close();
  }
});

Deno.test("weights bus - a late joiner gets the latest version, and old versions are pruned", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  try {
    const publisher = await WeightsPublisher.open(nc, { keep: 2 });
    for (const v of [1, 2, 3, 4]) await publisher.publish(BigInt(v), payload(v));
    const late = collect(nats.url, 1);
    await late.done;
    assert.deepEqual(late.updates.map((u) => u.version), [4n]);
    const names = (await publisher.store.list()).map((i) => i.name).sort();
    assert.deepEqual(names, ["weights-v000000000003", "weights-v000000000004"]);
  } finally {
    await nc.close();
  }
});

Deno.test("weights bus - a subscriber that is behind skips to the newest, never goes back", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  try {
    const publisher = await WeightsPublisher.open(nc, { keep: 10 });
    await publisher.publish(1n, payload(1));
    const sub = collect(nats.url, 2, undefined, 1500);
    await waitUntil(() => sub.updates.length === 1, 10_000, "the subscriber");
    // Five versions arrive in a burst while the subscriber is idle.
    for (const v of [2, 3, 4, 5, 6]) await publisher.publish(BigInt(v), payload(v));
    await sub.done;
    const versions = sub.updates.map((u) => u.version);
    assert.equal(versions[0], 1n);
    assert.equal(versions.at(-1), 6n, `ended at the newest version, got ${versions}`);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! > versions[i - 1]!);
  } finally {
    await nc.close();
  }
});

Deno.test("weights bus - a checksum mismatch is rejected and the next good version delivered", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  try {
    const publisher = await WeightsPublisher.open(nc, { keep: 5 });
    const reasons: string[] = [];
    const sub = collect(nats.url, 3, (r) => reasons.push(r));
    await new Promise((r) => setTimeout(r, 200));
    await publisher.publish(1n, payload(1));
    await publisher.publish(2n, payload(2));
    await waitUntil(() => sub.updates.length === 2, 10_000, "the subscriber");
    // Version 3: tamper with the bytes before announcing by hand.
    const good = payload(3);
    const tampered = payload(3);
    tampered[100] ^= 0xff;
    await publisher.store.putBlob({ name: "weights-v000000000003" }, tampered);
    const { create } = await import("@bufbuild/protobuf");
    const { WeightsAnnouncementSchema } = await import("@parlmt/gen/parlmt/v1/weights_pb.ts");
    await publisher.announce(create(WeightsAnnouncementSchema, {
      version: 3n,
      object: "weights-v000000000003",
      sizeBytes: BigInt(good.byteLength),
      sha256: sha256Hex(good),
      bucket: "parlmt-weights",
    }));
    await waitUntil(() => reasons.length === 1, 10_000, "the subscriber");
    assert.match(reasons[0]!, /Checksum mismatch for version 3/);
    await publisher.publish(4n, payload(4));
    await sub.done;
    assert.deepEqual(sub.updates.map((u) => u.version), [1n, 2n, 4n]);
  } finally {
    await nc.close();
  }
});

Deno.test("weights bus - a 100 MB payload is delivered intact", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  try {
    const publisher = await WeightsPublisher.open(nc, { keep: 1 });
    const size = 100 * 1024 * 1024;
    const big = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) big[i] = (i >>> 12) & 0xff;
    const sub = collect(nats.url, 1);
    await publisher.publish(1n, big, { kind: "big" });
    await sub.done;
    const got = sub.updates[0]!;
    assert.equal(got.bytes.byteLength, size);
    assert.equal(got.sha256, sha256Hex(big));
    assert.equal(sha256Hex(got.bytes), sha256Hex(big));
  } finally {
    await nc.close();
  }
});

Deno.test("weights bus - versions below the one held are reported stale, never delivered", async () => {
  await using nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  const sub = await connectNats(nats.url, { name: "test-subscriber" });
  const controller = new AbortController();
  try {
    const publisher = await WeightsPublisher.open(nc, { keep: 10 });
    const stale: [bigint, bigint][] = [];
    const got: bigint[] = [];
    // The subscriber already serves version 500 (e.g. an SFT model file of step 500).
    const done = (async () => {
      for await (
        const u of subscribeWeights(sub, {
          signal: controller.signal,
          afterVersion: 500n,
          onStale: (a, current) => stale.push([a.version, current]),
        })
      ) {
        got.push(u.version);
        if (u.version === 501n) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await publisher.publish(3n, payload(3));
    await waitUntil(() => stale.length === 1, 10_000, "the stale report");
    assert.deepEqual(stale, [[3n, 500n]]);
    await publisher.publish(501n, payload(501));
    await done;
    assert.deepEqual(got, [501n]);
  } finally {
    controller.abort();
    await sub.close();
    await nc.close();
  }
});
