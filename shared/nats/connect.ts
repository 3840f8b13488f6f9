/** NATS connections: the only importer of the NATS client packages besides the weights bus. */
import { connect, type NatsConnection } from "@nats-io/transport-node";

export type { NatsConnection };

/** Options of {@linkcode connectNats}. */
export interface ConnectNatsOptions {
  /** Client name shown by the server. */
  name?: string;
  /** Give up the first connection after this long. @default {5000} */
  timeoutMs?: number;
}

/** Connects to `url` (comma-separated for a cluster), failing with a clear message. */
export async function connectNats(
  url: string,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const { name, timeoutMs = 5000 } = options;
  try {
    return await connect({
      servers: url.split(",").map((s) => s.trim()),
      name,
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new Error(`Cannot connect to NATS at "${url}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}
