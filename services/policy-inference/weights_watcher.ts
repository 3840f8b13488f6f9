/** Follows the weights bus and records every verified version (the swap target of the runtime). */
import type { Logger } from "@parlmt/log";
import { type NatsConnection, subscribeWeights, type WeightsUpdate } from "@parlmt/nats";

/** What the server knows about the weights it serves. */
export interface WeightsState {
  version: bigint;
  sha256: string;
  sizeBytes: number;
  meta: Record<string, string>;
  /** "ok", or why the last update was rejected. */
  lastSwap: string;
  rejected: number;
}

/** A fresh state: no weights yet. */
export function initialWeightsState(): WeightsState {
  return { version: 0n, sha256: "", sizeBytes: 0, meta: {}, lastSwap: "none", rejected: 0 };
}

/**
 * Applies every verified update to `state` (and hands it to `onUpdate`) until `signal` aborts.
 * Rejected updates are logged, counted and leave the served version unchanged.
 */
export async function watchWeights(
  nc: NatsConnection,
  state: WeightsState,
  logger: Logger,
  signal: AbortSignal,
  onUpdate?: (update: WeightsUpdate) => void | Promise<void>,
): Promise<void> {
  const updates = subscribeWeights(nc, {
    signal,
    afterVersion: state.version,
    onRejected: (a, reason) => {
      state.rejected++;
      state.lastSwap = reason;
      logger.warn("Rejected weights update", { weightsVersion: a.version, reason });
    },
  });
  for await (const update of updates) {
    await onUpdate?.(update);
    state.version = update.version;
    state.sha256 = update.sha256;
    state.sizeBytes = update.bytes.byteLength;
    state.meta = update.meta;
    state.lastSwap = "ok";
    logger.info("Weights updated", {
      weightsVersion: update.version,
      sizeBytes: update.bytes.byteLength,
    });
  }
  logger.info("Weights watcher stopped");
}
