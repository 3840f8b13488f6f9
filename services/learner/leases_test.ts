import assert from "node:assert/strict";
import { LeaseManager } from "./leases.ts";

function tasks(n: number) {
  let i = 0;
  return () => (i < n ? { id: `task-${i}`, task: { n: i++ } } : undefined);
}

Deno.test("LeaseManager.lease() hands each task out G times under one group id", () => {
  const m = new LeaseManager(tasks(2), { groupSize: 3, now: () => 0 });
  const leases = m.lease("a1", 10);
  assert.equal(leases.length, 6);
  assert.deepEqual(leases.map((l) => l.indexInGroup), [0, 1, 2, 0, 1, 2]);
  assert.equal(new Set(leases.slice(0, 3).map((l) => l.groupId)).size, 1);
  assert.notEqual(leases[0]!.groupId, leases[3]!.groupId);
  assert.equal(new Set(leases.map((l) => l.leaseId)).size, 6);
  assert.deepEqual(m.lease("a1", 5), [], "the curriculum is exhausted");
});

Deno.test("LeaseManager re-issues an expired lease and counts its slot once", () => {
  let now = 0;
  const m = new LeaseManager(tasks(1), { groupSize: 2, leaseTtlMs: 100, now: () => now });
  const [first, second] = m.lease("dead-actor", 2);
  assert.equal(m.complete(second!.groupId, second!.indexInGroup, "traj-b"), "accepted");
  now = 150; // the first lease expires with its actor
  const [reissued] = m.lease("live-actor", 5);
  assert.ok(reissued);
  assert.equal(reissued.groupId, first!.groupId);
  assert.equal(reissued.indexInGroup, first!.indexInGroup);
  assert.notEqual(reissued.leaseId, first!.leaseId);
  assert.deepEqual(m.renew("dead-actor", [first!.leaseId]).lost, [first!.leaseId]);
  assert.equal(m.complete(reissued.groupId, reissued.indexInGroup, "traj-a2"), "accepted");
  // The dead actor's trajectory arrives late: the slot is already filled.
  assert.equal(m.complete(first!.groupId, first!.indexInGroup, "traj-a1"), "duplicate");
  const done = m.takeCompleted();
  assert.deepEqual(done.map((g) => g.trajectoryIds), [["traj-a2", "traj-b"]]);
  assert.deepEqual(m.takeCompleted(), []);
});

Deno.test("LeaseManager.renew() keeps a lease alive; release() re-issues it first", () => {
  let now = 0;
  const m = new LeaseManager(tasks(5), { groupSize: 1, leaseTtlMs: 100, now: () => now });
  const [l] = m.lease("a", 1);
  now = 90;
  assert.deepEqual(m.renew("a", [l!.leaseId]).renewed, [l!.leaseId]);
  assert.deepEqual(m.renew("intruder", [l!.leaseId]).lost, [l!.leaseId], "only the holder renews");
  now = 150;
  assert.equal(m.activeLeases, 1, "renewed until 190");
  assert.equal(m.release("a", [l!.leaseId]), 1);
  const [again] = m.lease("b", 1);
  assert.equal(again!.taskId, l!.taskId, "a released slot goes out before new tasks");
});

Deno.test("LeaseManager.snapshot()/restore() keep filled slots and re-issue the rest", () => {
  const m = new LeaseManager(tasks(1), { groupSize: 3, now: () => 0 });
  const leases = m.lease("a", 3);
  m.complete(leases[1]!.groupId, 1, "t1");
  const snap = JSON.parse(JSON.stringify(m.snapshot()));
  const restored = new LeaseManager(tasks(0), { groupSize: 3, now: () => 0 });
  restored.restore(snap);
  const reissued = restored.lease("b", 10);
  assert.deepEqual(reissued.map((l) => l.indexInGroup).sort(), [0, 2]);
  assert.equal(restored.complete(leases[1]!.groupId, 1, "t1-again"), "duplicate");
});

Deno.test("LeaseManager rejects bad input with clear errors", () => {
  const m = new LeaseManager(tasks(1), { groupSize: 2, now: () => 0 });
  assert.throws(() => m.lease("", 1), /actor_id is empty/);
  assert.throws(() => m.lease("a", 0), /max_tasks must be in 1..1024, got 0/);
  assert.throws(() => m.complete("nope#1", 0, "t"), /unknown group "nope#1"/);
  const [l] = m.lease("a", 1);
  assert.throws(() => m.complete(l!.groupId, 7, "t"), /slot 7 of group .* of size 2/);
  assert.throws(() => new LeaseManager(tasks(1), { groupSize: 0 }), /invalid groupSize 0/);
});
