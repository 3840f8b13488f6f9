/**
 * Task leases: every task is handed out G times under one group id (a GRPO group). A slot of a
 * group is filled by exactly one trajectory; a lease that expires or is released goes back to
 * the pool and is re-issued under a new lease id, so a dead actor loses nothing and no slot is
 * ever counted twice.
 */

/** One lease as handed to an actor. */
export interface Lease<T> {
  leaseId: string;
  task: T;
  taskId: string;
  groupId: string;
  groupSize: number;
  indexInGroup: number;
  actorId: string;
  expiresAtMs: number;
}

/** A group whose every slot holds a trajectory. */
export interface CompletedGroup<T> {
  groupId: string;
  task: T;
  trajectoryIds: string[];
}

/** What happened to a submission. */
export type CompleteOutcome = "accepted" | "duplicate";

/** Options of {@linkcode LeaseManager}. */
export interface LeaseManagerOptions {
  /** Rollouts per task (G). @default {4} */
  groupSize?: number;
  /** Lease lifetime without renewal. @default {60000} */
  leaseTtlMs?: number;
  /** Clock in ms. @default {Date.now} */
  now?: () => number;
}

/** One place of a group, filled by one trajectory. */
export interface Slot {
  groupId: string;
  index: number;
  trajectoryId?: string;
  leaseId?: string;
}

interface Group<T> {
  id: string;
  taskId: string;
  task: T;
  slots: Slot[];
}

/** The serialisable state of a LeaseManager (leases are dropped: actors re-lease). */
export interface LeaseSnapshot<T> {
  counter: number;
  groups: { id: string; taskId: string; task: T; filled: (string | null)[] }[];
}

/** Hands out and tracks leases over tasks drawn from `nextTask`. */
export class LeaseManager<T> {
  readonly groupSize: number;
  readonly leaseTtlMs: number;
  #now: () => number;
  #nextTask: () => { id: string; task: T } | undefined;
  #groups = new Map<string, Group<T>>();
  #leases = new Map<string, Lease<T>>();
  #pending: Slot[] = [];
  #counter = 0;

  constructor(
    nextTask: () => { id: string; task: T } | undefined,
    options: LeaseManagerOptions = {},
  ) {
    const { groupSize = 4, leaseTtlMs = 60_000, now = Date.now } = options;
    if (!Number.isInteger(groupSize) || groupSize < 1) {
      throw new RangeError(`Cannot create lease manager: invalid groupSize ${groupSize}`);
    }
    if (!(leaseTtlMs > 0)) {
      throw new RangeError(`Cannot create lease manager: invalid leaseTtlMs ${leaseTtlMs}`);
    }
    this.groupSize = groupSize;
    this.leaseTtlMs = leaseTtlMs;
    this.#now = now;
    this.#nextTask = nextTask;
  }

  /** Leases currently held by actors. */
  get activeLeases(): number {
    this.#expire();
    return this.#leases.size;
  }

  /** Hands up to `max` leases to `actorId`: slots to re-issue first, then new groups. */
  lease(actorId: string, max: number): Lease<T>[] {
    if (actorId.length === 0) throw new TypeError("Cannot lease tasks: actor_id is empty");
    if (!Number.isInteger(max) || max < 1 || max > 1024) {
      throw new RangeError(`Cannot lease tasks: max_tasks must be in 1..1024, got ${max}`);
    }
    this.#expire();
    const out: Lease<T>[] = [];
    while (out.length < max) {
      let slot = this.#pending.shift();
      if (!slot) {
        const next = this.#nextTask();
        if (!next) break;
        const group = this.#newGroup(next.id, next.task);
        this.#pending.push(...group.slots);
        slot = this.#pending.shift()!;
      }
      if (slot.trajectoryId !== undefined) continue; // filled meanwhile by a late submission
      out.push(this.#issue(slot, actorId));
    }
    return out;
  }

  /** Extends the leases `actorId` holds; others are reported lost. */
  renew(
    actorId: string,
    leaseIds: readonly string[],
  ): { renewed: string[]; lost: string[]; expiresAtMs: number } {
    this.#expire();
    const expiresAtMs = this.#now() + this.leaseTtlMs;
    const renewed: string[] = [];
    const lost: string[] = [];
    for (const id of leaseIds) {
      const lease = this.#leases.get(id);
      if (lease && lease.actorId === actorId) {
        lease.expiresAtMs = expiresAtMs;
        renewed.push(id);
      } else {
        lost.push(id);
      }
    }
    return { renewed, lost, expiresAtMs };
  }

  /** Hands leases back unfinished; their slots are re-issued first. */
  release(actorId: string, leaseIds: readonly string[]): number {
    let released = 0;
    for (const id of leaseIds) {
      const lease = this.#leases.get(id);
      if (!lease || lease.actorId !== actorId) continue;
      this.#drop(lease);
      released++;
    }
    return released;
  }

  /**
   * Records a trajectory for the slot `(groupId, indexInGroup)`. The first trajectory for a slot
   * is accepted, even from an expired lease (its work is done); any later one is a duplicate.
   * Throws RangeError for an unknown group or index.
   */
  complete(groupId: string, indexInGroup: number, trajectoryId: string): CompleteOutcome {
    const slot = this.checkSlot(groupId, indexInGroup);
    if (slot.trajectoryId !== undefined) return "duplicate";
    slot.trajectoryId = trajectoryId;
    if (slot.leaseId) {
      this.#leases.delete(slot.leaseId);
      slot.leaseId = undefined;
    }
    this.#pending = this.#pending.filter((s) => s !== slot);
    return "accepted";
  }

  /** The slot `(groupId, indexInGroup)`; throws RangeError when there is no such slot. */
  checkSlot(groupId: string, indexInGroup: number): Slot {
    const group = this.#groups.get(groupId);
    if (!group) throw new RangeError(`Cannot complete unknown group "${groupId}"`);
    const slot = group.slots[indexInGroup];
    if (!slot) {
      throw new RangeError(
        `Cannot complete slot ${indexInGroup} of group "${groupId}" of size ${group.slots.length}`,
      );
    }
    return slot;
  }

  /** Removes and returns the groups whose slots are all filled. */
  takeCompleted(): CompletedGroup<T>[] {
    const done: CompletedGroup<T>[] = [];
    for (const group of this.#groups.values()) {
      if (group.slots.every((s) => s.trajectoryId !== undefined)) {
        done.push({
          groupId: group.id,
          task: group.task,
          trajectoryIds: group.slots.map((s) => s.trajectoryId!),
        });
        this.#groups.delete(group.id);
      }
    }
    return done;
  }

  /** The state to checkpoint: groups and filled slots (leases in flight are re-issued on restore). */
  snapshot(): LeaseSnapshot<T> {
    return {
      counter: this.#counter,
      groups: [...this.#groups.values()].map((g) => ({
        id: g.id,
        taskId: g.taskId,
        task: g.task,
        filled: g.slots.map((s) => s.trajectoryId ?? null),
      })),
    };
  }

  /** Restores a snapshot; every unfilled slot becomes pending. */
  restore(snapshot: LeaseSnapshot<T>): void {
    this.#groups.clear();
    this.#leases.clear();
    this.#pending = [];
    this.#counter = snapshot.counter;
    for (const g of snapshot.groups) {
      const slots = g.filled.map((t, index) => ({
        groupId: g.id,
        index,
        trajectoryId: t ?? undefined,
      }));
      this.#groups.set(g.id, { id: g.id, taskId: g.taskId, task: g.task, slots });
      this.#pending.push(...slots.filter((s) => s.trajectoryId === undefined));
    }
  }

  #newGroup(taskId: string, task: T): Group<T> {
    const id = `${taskId}#${++this.#counter}`;
    const slots = Array.from({ length: this.groupSize }, (_, index) => ({ groupId: id, index }));
    const group = { id, taskId, task, slots };
    this.#groups.set(id, group);
    return group;
  }

  #issue(slot: Slot, actorId: string): Lease<T> {
    const group = this.#groups.get(slot.groupId)!;
    const lease: Lease<T> = {
      leaseId: `lease-${++this.#counter}`,
      task: group.task,
      taskId: group.taskId,
      groupId: group.id,
      groupSize: group.slots.length,
      indexInGroup: slot.index,
      actorId,
      expiresAtMs: this.#now() + this.leaseTtlMs,
    };
    slot.leaseId = lease.leaseId;
    this.#leases.set(lease.leaseId, lease);
    return lease;
  }

  #drop(lease: Lease<T>): void {
    this.#leases.delete(lease.leaseId);
    const slot = this.#groups.get(lease.groupId)?.slots[lease.indexInGroup];
    if (slot && slot.leaseId === lease.leaseId && slot.trajectoryId === undefined) {
      slot.leaseId = undefined;
      this.#pending.unshift(slot);
    }
  }

  #expire(): void {
    const now = this.#now();
    for (const lease of [...this.#leases.values()]) {
      if (lease.expiresAtMs <= now) this.#drop(lease);
    }
  }
}
