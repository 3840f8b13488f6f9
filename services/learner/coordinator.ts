/**
 * The learner's coordination state: task leases over a curriculum, durable trajectory
 * submission, staleness, and the groups that are complete and ready to train on.
 *
 * Durability: a trajectory is acknowledged only after it is fsynced in the trajectory log;
 * the lease state (groups, filled slots, curriculum cursor) is written atomically before any
 * lease of a new group leaves the learner. On restart both are replayed, so after a crash (even
 * SIGKILL) no acknowledged trajectory is lost or counted twice, and every unfilled slot is
 * re-issued.
 */
import { type Task, type Trajectory } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { type CompletedGroup, type Lease, LeaseManager, type LeaseSnapshot } from "./leases.ts";
import { TrajectoryStore } from "./trajectory_store.ts";

/** Where tasks come from; `cursor` lets a restart continue where it was. */
export interface TaskSource {
  /** The task at position `cursor` (sources may cycle), or undefined when exhausted. */
  at(cursor: number): Task | undefined;
}

/** A source over a fixed list, cycling through it `epochs` times. */
export function listSource(tasks: readonly Task[], epochs = Infinity): TaskSource {
  return {
    at(cursor) {
      if (tasks.length === 0 || cursor >= tasks.length * epochs) return undefined;
      return tasks[cursor % tasks.length];
    },
  };
}

/** What happened to a submission. */
export type SubmitResult = "accepted" | "duplicate" | "stale";

/** Options of {@linkcode Coordinator.open}. */
export interface CoordinatorOptions {
  dir: string;
  source: TaskSource;
  groupSize?: number;
  leaseTtlMs?: number;
  /** Trajectories whose oldest token is more than this many versions old are dropped. */
  maxStaleness?: number;
  now?: () => number;
}

interface PersistedState {
  cursor: number;
  leases: LeaseSnapshot<string>;
}

/** Counters the status RPC and the dashboard report. */
export interface CoordinatorCounters {
  accepted: number;
  duplicates: number;
  stale: number;
}

/** The learner's leases, trajectory log and ready groups. */
export class Coordinator {
  readonly counters: CoordinatorCounters = { accepted: 0, duplicates: 0, stale: 0 };
  weightsVersion = 0n;
  #store: TrajectoryStore;
  #leases: LeaseManager<string>;
  #source: TaskSource;
  #cursor: number;
  #tasks = new Map<string, Task>();
  #statePath: string;
  #maxStaleness: number;
  #ready: CompletedGroup<string>[] = [];

  private constructor(
    store: TrajectoryStore,
    options: CoordinatorOptions,
    state: PersistedState | undefined,
  ) {
    this.#store = store;
    this.#source = options.source;
    this.#cursor = state?.cursor ?? 0;
    this.#statePath = `${options.dir}/leases.json`;
    this.#maxStaleness = options.maxStaleness ?? 4;
    // Leases carry task ids; the Task messages are looked up by id.
    this.#leases = new LeaseManager<string>(() => this.#nextTask(), {
      groupSize: options.groupSize,
      leaseTtlMs: options.leaseTtlMs,
      now: options.now,
    });
    if (state) this.#leases.restore(state.leases);
  }

  /** Opens the state in `options.dir`, replaying the trajectory log into the lease slots. */
  static async open(options: CoordinatorOptions): Promise<Coordinator> {
    await Deno.mkdir(options.dir, { recursive: true });
    const store = await TrajectoryStore.open(`${options.dir}/trajectories`);
    let state: PersistedState | undefined;
    try {
      state = JSON.parse(await Deno.readTextFile(`${options.dir}/leases.json`));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new Error(`Cannot read lease state in "${options.dir}": ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    const coordinator = new Coordinator(store, options, state);
    coordinator.#rebuildTaskIndex();
    // Trajectories of groups taken for training before a crash (and not consumed) come back
    // as ready groups of their own.
    const orphans = new Map<string, CompletedGroup<string>>();
    for (const t of store.unconsumed()) {
      if (coordinator.#fill(t) !== "unknown") continue;
      const group = orphans.get(t.groupId) ??
        { groupId: t.groupId, task: t.taskId, trajectoryIds: [] };
      group.trajectoryIds.push(t.id);
      orphans.set(t.groupId, group);
    }
    coordinator.#collect();
    coordinator.#ready.push(...orphans.values());
    return coordinator;
  }

  /** Trajectories accepted and not yet trained on. */
  get buffered(): number {
    return this.#store.unconsumed().length;
  }

  /** Leases currently held by actors. */
  get activeLeases(): number {
    return this.#leases.activeLeases;
  }

  /** Total distinct trajectories ever stored. */
  get stored(): number {
    return this.#store.size;
  }

  /** Hands out leases; persists new groups before they leave. */
  async lease(actorId: string, max: number): Promise<Lease<Task>[]> {
    const before = this.#cursor;
    const leases = this.#leases.lease(actorId, max);
    if (this.#cursor !== before) await this.#persist();
    return leases.map((l) => ({ ...l, task: this.#tasks.get(l.task)! }));
  }

  renew(actorId: string, leaseIds: readonly string[]) {
    return this.#leases.renew(actorId, leaseIds);
  }

  release(actorId: string, leaseIds: readonly string[]): number {
    return this.#leases.release(actorId, leaseIds);
  }

  /**
   * Accepts a trajectory once: stale ones are dropped (their slot is re-issued), others are
   * fsynced, then fill their group slot. Throws RangeError for an unknown group or slot and
   * TypeError for a malformed trajectory.
   */
  async submit(trajectory: Trajectory): Promise<SubmitResult> {
    if (!trajectory.id) throw new TypeError("Trajectory has an empty id");
    if (!trajectory.groupId) {
      throw new TypeError(`Trajectory "${trajectory.id}" has an empty group_id`);
    }
    if (this.#store.has(trajectory.id)) {
      this.counters.duplicates++;
      return "duplicate";
    }
    this.#leases.checkSlot(trajectory.groupId, trajectory.indexInGroup);
    const oldest = oldestVersion(trajectory);
    if (oldest !== undefined && this.weightsVersion - oldest > BigInt(this.#maxStaleness)) {
      this.counters.stale++;
      this.#leases.release(trajectory.actorId, [trajectory.leaseId]);
      return "stale";
    }
    const outcome = await this.#store.append(trajectory);
    if (outcome === "duplicate" || this.#fill(trajectory) === "duplicate") {
      this.counters.duplicates++;
      return "duplicate";
    }
    this.counters.accepted++;
    this.#collect();
    return "accepted";
  }

  /**
   * Removes and returns the complete groups with their trajectories (the lease state is
   * persisted without them, so a restart never re-issues their slots).
   */
  async takeReadyGroups(): Promise<
    { groupId: string; task: Task | undefined; trajectories: Trajectory[] }[]
  > {
    const byId = new Map(this.#store.unconsumed().map((t) => [t.id, t]));
    const out = this.#ready.map((g) => ({
      groupId: g.groupId,
      task: this.#tasks.get(g.task)!,
      trajectories: g.trajectoryIds.map((id) => byId.get(id)!).filter((t) => t !== undefined),
    }));
    this.#ready = [];
    if (out.length > 0) await this.#persist();
    return out;
  }

  /** Durably marks trajectories as trained on. */
  markConsumed(ids: readonly string[]): Promise<void> {
    return this.#store.markConsumed(ids);
  }

  close(): void {
    this.#store.close();
  }

  #nextTask(): { id: string; task: string } | undefined {
    const task = this.#source.at(this.#cursor);
    if (!task) return undefined;
    this.#cursor++;
    this.#tasks.set(task.id, task);
    return { id: task.id, task: task.id };
  }

  #rebuildTaskIndex(): void {
    // Tasks of restored groups come from the source again, by id (positions before the cursor).
    for (let i = 0; i < this.#cursor; i++) {
      const task = this.#source.at(i);
      if (task) this.#tasks.set(task.id, task);
    }
  }

  #fill(t: Trajectory): "accepted" | "duplicate" | "unknown" {
    try {
      return this.#leases.complete(t.groupId, t.indexInGroup, t.id);
    } catch {
      // A group no longer tracked (its other rollouts were trained on already).
      return "unknown";
    }
  }

  #collect(): void {
    this.#ready.push(...this.#leases.takeCompleted());
  }

  /**
   * Writes the lease state. Calls are serialised: overlapping writers (a lease RPC and the
   * training loop taking groups) once shared one temp file, and the second rename failed.
   */
  #persist(): Promise<void> {
    const next = this.#persisting.catch(() => {}).then(() => this.#writeState());
    this.#persisting = next;
    return next;
  }

  #persisting: Promise<void> = Promise.resolve();

  async #writeState(): Promise<void> {
    const state: PersistedState = { cursor: this.#cursor, leases: this.#leases.snapshot() };
    const tmp = `${this.#statePath}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await file.write(new TextEncoder().encode(JSON.stringify(state)));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, this.#statePath);
  }
}

/** The oldest weights version that produced a token of the trajectory. */
export function oldestVersion(trajectory: Trajectory): bigint | undefined {
  let oldest: bigint | undefined;
  for (const turn of trajectory.turns) {
    for (const step of turn.steps) {
      for (const v of step.generation?.tokenVersions ?? []) {
        if (oldest === undefined || v < oldest) oldest = v;
      }
    }
  }
  return oldest;
}
