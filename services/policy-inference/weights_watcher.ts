/** Follows the weights bus and hands every verified version to the runtime's swap. */
import type { Logger } from "@parlmt/log";
import { type NatsConnection, subscribeWeights, type WeightsUpdate } from "@parlmt/nats";

/** What the server knows about the weights it serves. */
export interface WeightsState {
  version: bigint;
  sha256: string;
  sizeBytes: number;
  meta: Record<string, string>;
  /** "ok", or why the last update was rejected or rolled back. */
  lastSwap: string;
  /** Updates refused: bad checksum, unreadable blob, failed canary. */
  rejected: number;
  /** Milliseconds from announcement to serving of the last accepted version. */
  lastSwapMs: number;
}

/** A fresh state: no weights yet. */
export function initialWeightsState(): WeightsState {
  return {
    version: 0n,
    sha256: "",
    sizeBytes: 0,
    meta: {},
    lastSwap: "none",
    rejected: 0,
    lastSwapMs: 0,
  };
}

/**
 * Applies every verified update with `apply` (which throws to refuse it) until `signal`
 * aborts. Refused updates are logged, counted and leave the served version unchanged.
 */
export async function watchWeights(
  nc: NatsConnection,
  state: WeightsState,
  logger: Logger,
  signal: AbortSignal,
  apply?: (update: WeightsUpdate) => Promise<void>,
): Promise<void> {
  const updates = subscribeWeights(nc, {
    signal,
    afterVersion: state.version,
    onStale: (a, current) => {
      state.rejected++;
      state.lastSwap = `version ${a.version} is older than the served version ${current}`;
      logger.warn("Ignored weights update older than the served version", {
        weightsVersion: a.version,
        servedVersion: current,
      });
    },
    onRejected: (a, reason) => {
      state.rejected++;
      state.lastSwap = reason;
      logger.warn("Rejected weights update", { weightsVersion: a.version, reason });
    },
  });
  for await (const update of updates) {
    try {
      await apply?.(update);
    } catch (err) {
      state.rejected++;
      state.lastSwap = (err as Error).message;
      logger.warn("Rejected weights update", {
        weightsVersion: update.version,
        reason: state.lastSwap,
      });
      continue;
    }
    state.version = update.version;
    state.sha256 = update.sha256;
    state.sizeBytes = update.bytes.byteLength;
    state.meta = update.meta;
    state.lastSwap = "ok";
    state.lastSwapMs = Date.now() - Number(update.announcement.publishedAtMs);
    logger.info("Weights updated", {
      weightsVersion: update.version,
      sizeBytes: update.bytes.byteLength,
      durationMs: state.lastSwapMs,
    });
  }
  logger.info("Weights watcher stopped");
}
