/**
 * The learner's durable trajectory log: an append-only file of length- and CRC-framed protobuf
 * records, fsynced before a submission is acknowledged. Idempotent on the trajectory id;
 * consumption is recorded in a second log so that a restart knows what is left to train on.
 *
 * Frame: u32 LE payload length, u32 LE CRC-32 of the payload, payload. A torn last frame (a
 * crash mid-write) is cut off on open; a bad frame anywhere else is reported as corruption.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Trajectory, TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { crc32 } from "node:zlib";

const HEADER_BYTES = 8;
/** Largest record accepted (a trajectory with long generations stays far below). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** What {@linkcode TrajectoryStore.append} did. */
export type AppendOutcome = "accepted" | "duplicate";

interface Frame {
  payload: Uint8Array;
  end: number;
}

function readFrames(bytes: Uint8Array, path: string): { frames: Frame[]; validBytes: number } {
  const frames: Frame[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.byteLength) {
    const length = view.getUint32(offset, true);
    const crc = view.getUint32(offset + 4, true);
    const end = offset + HEADER_BYTES + length;
    if (length > MAX_RECORD_BYTES) {
      throw new RangeError(
        `Corrupt log "${path}": record at byte ${offset} claims ${length} bytes`,
      );
    }
    if (end > bytes.byteLength) break; // torn tail
    const payload = bytes.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== crc) {
      if (end === bytes.byteLength) break; // torn tail whose length field survived
      throw new RangeError(`Corrupt log "${path}": checksum mismatch at byte ${offset}`);
    }
    frames.push({ payload, end });
    offset = end;
  }
  return { frames, validBytes: offset };
}

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength, true);
  view.setUint32(4, crc32(payload), true);
  out.set(payload, HEADER_BYTES);
  return out;
}

async function openLog(path: string): Promise<{ file: Deno.FsFile; frames: Frame[] }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    bytes = new Uint8Array();
  }
  const { frames, validBytes } = readFrames(bytes, path);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (validBytes < bytes.byteLength) {
    await file.truncate(validBytes);
    await file.sync();
  }
  await file.seek(validBytes, Deno.SeekMode.Start);
  return { file, frames };
}

/** The durable trajectory log of one learner. */
export class TrajectoryStore {
  #trajectories: Deno.FsFile;
  #consumedLog: Deno.FsFile;
  #byId = new Map<string, Trajectory>();
  #order: string[] = [];
  #consumed = new Set<string>();
  #queue: Promise<void> = Promise.resolve();

  private constructor(trajectories: Deno.FsFile, consumed: Deno.FsFile) {
    this.#trajectories = trajectories;
    this.#consumedLog = consumed;
  }

  /** Opens (or creates) the logs in `dir`, replaying what they hold. */
  static async open(dir: string): Promise<TrajectoryStore> {
    await Deno.mkdir(dir, { recursive: true });
    const t = await openLog(`${dir}/trajectories.log`);
    const c = await openLog(`${dir}/consumed.log`);
    const store = new TrajectoryStore(t.file, c.file);
    for (const f of t.frames) {
      const trajectory = fromBinary(TrajectorySchema, f.payload);
      if (!store.#byId.has(trajectory.id)) {
        store.#byId.set(trajectory.id, trajectory);
        store.#order.push(trajectory.id);
      }
    }
    const decoder = new TextDecoder();
    for (const f of c.frames) store.#consumed.add(decoder.decode(f.payload));
    return store;
  }

  /** Number of distinct trajectories stored. */
  get size(): number {
    return this.#byId.size;
  }

  /** Whether a trajectory with this id was accepted. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Appends and fsyncs a trajectory; resolves only once it is durable. */
  append(trajectory: Trajectory): Promise<AppendOutcome> {
    if (trajectory.id.length === 0) {
      return Promise.reject(new TypeError("Cannot store trajectory: the id is empty"));
    }
    const payload = toBinary(TrajectorySchema, trajectory);
    if (payload.byteLength > MAX_RECORD_BYTES) {
      return Promise.reject(
        new RangeError(
          `Cannot store trajectory "${trajectory.id}": ${payload.byteLength} bytes exceed ${MAX_RECORD_BYTES}`,
        ),
      );
    }
    return this.#serialised(async () => {
      if (this.#byId.has(trajectory.id)) return "duplicate";
      await writeAll(this.#trajectories, frame(payload));
      await this.#trajectories.sync();
      this.#byId.set(trajectory.id, trajectory);
      this.#order.push(trajectory.id);
      return "accepted";
    });
  }

  /** Accepted trajectories not yet consumed by training, in acceptance order. */
  unconsumed(): Trajectory[] {
    return this.#order.filter((id) => !this.#consumed.has(id)).map((id) => this.#byId.get(id)!);
  }

  /** Durably marks trajectories as consumed (trained on); unknown ids are rejected. */
  markConsumed(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (!this.#byId.has(id)) {
        return Promise.reject(new RangeError(`Cannot consume unknown trajectory "${id}"`));
      }
    }
    return this.#serialised(async () => {
      const encoder = new TextEncoder();
      const fresh = ids.filter((id) => !this.#consumed.has(id));
      if (fresh.length === 0) return;
      const frames = fresh.map((id) => frame(encoder.encode(id)));
      const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
      let offset = 0;
      for (const f of frames) {
        all.set(f, offset);
        offset += f.byteLength;
      }
      await writeAll(this.#consumedLog, all);
      await this.#consumedLog.sync();
      for (const id of fresh) this.#consumed.add(id);
    });
  }

  /** Closes both files. */
  close(): void {
    this.#trajectories.close();
    this.#consumedLog.close();
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.then(() => {}, () => {});
    return run;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) written += await file.write(bytes.subarray(written));
}
