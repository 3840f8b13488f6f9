import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { TrajectoryStore } from "./trajectory_store.ts";

function trajectory(id: string, taskId = "t") {
  return create(TrajectorySchema, { id, taskId, groupId: `g-${taskId}`, actorId: "a1" });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "parlmt-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("TrajectoryStore.append() is idempotent on the id and survives reopening", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    assert.equal(await store.append(trajectory("a")), "accepted");
    assert.equal(await store.append(trajectory("b")), "accepted");
    assert.equal(await store.append(trajectory("a")), "duplicate");
    store.close();
    const again = await TrajectoryStore.open(dir);
    assert.equal(again.size, 2);
    assert.equal(await again.append(trajectory("b")), "duplicate");
    assert.deepEqual(again.unconsumed().map((t) => t.id), ["a", "b"]);
    again.close();
  }));

Deno.test("TrajectoryStore.markConsumed() persists, and unconsumed() keeps acceptance order", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    for (const id of ["x", "y", "z"]) await store.append(trajectory(id));
    await store.markConsumed(["y"]);
    await assert.rejects(store.markConsumed(["nope"]), /unknown trajectory "nope"/);
    store.close();
    const again = await TrajectoryStore.open(dir);
    assert.deepEqual(again.unconsumed().map((t) => t.id), ["x", "z"]);
    again.close();
  }));

Deno.test("TrajectoryStore.open() cuts a torn last record and keeps every complete one", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    await store.append(trajectory("kept-1"));
    await store.append(trajectory("kept-2"));
    store.close();
    const path = `${dir}/trajectories.log`;
    const whole = await Deno.readFile(path);
    // Simulate a crash in the middle of writing a third record.
    const torn = new Uint8Array([...whole, 40, 0, 0, 0, 1, 2, 3, 4, 9, 9]);
    await Deno.writeFile(path, torn);
    const again = await TrajectoryStore.open(dir);
    assert.deepEqual(again.unconsumed().map((t) => t.id), ["kept-1", "kept-2"]);
    assert.equal((await Deno.stat(path)).size, whole.byteLength, "the torn tail was truncated");
    assert.equal(await again.append(trajectory("after")), "accepted");
    again.close();
    const third = await TrajectoryStore.open(dir);
    assert.deepEqual(third.unconsumed().map((t) => t.id), ["kept-1", "kept-2", "after"]);
    third.close();
  }));

Deno.test("TrajectoryStore.open() reports corruption in the middle of the log", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    await store.append(trajectory("one"));
    await store.append(trajectory("two"));
    store.close();
    const path = `${dir}/trajectories.log`;
    const bytes = await Deno.readFile(path);
    bytes[10] ^= 0xff; // inside the first payload
    await Deno.writeFile(path, bytes);
    await assert.rejects(TrajectoryStore.open(dir), /checksum mismatch at byte 0/);
  }));

Deno.test("TrajectoryStore.append() rejects an empty id", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    await assert.rejects(store.append(trajectory("")), /the id is empty/);
    store.close();
  }));

Deno.test("TrajectoryStore.append() of concurrent submissions stores each once", () =>
  withDir(async (dir) => {
    const store = await TrajectoryStore.open(dir);
    const ids = Array.from({ length: 50 }, (_, i) => `t${i % 25}`);
    const outcomes = await Promise.all(ids.map((id) => store.append(trajectory(id))));
    assert.equal(outcomes.filter((o) => o === "accepted").length, 25);
    assert.equal(store.size, 25);
    store.close();
  }));
