/** Standard gRPC health checks against a running service. */
import { Health, HealthCheckResponse_ServingStatus } from "@parlmt/gen/grpc/health/v1/health_pb.ts";
import { createClient } from "@parlmt/grpc";

/** Asks `grpc.health.v1.Health/Check` for `service` ("" = the whole server). */
export async function checkHealth(
  address: string,
  service = "",
  timeoutMs = 2000,
): Promise<string> {
  const client = createClient(Health, address, { timeoutMs });
  try {
    const res = await client.check({ service });
    return HealthCheckResponse_ServingStatus[res.status] ?? String(res.status);
  } finally {
    client.close();
  }
}

/** Polls the health of `service` at `address` until SERVING or `timeoutMs` passes. */
export async function waitServing(
  address: string,
  service = "",
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      last = await checkHealth(address, service);
      if (last === "SERVING") return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`"${service || address}" not SERVING within ${timeoutMs} ms (last: ${last})`);
}
