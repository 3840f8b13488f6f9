/**
 * Regression test for a crash of Deno's node:http2 (see shared/grpc/http2_goaway_workaround.ts):
 * a client that made hundreds of calls on one channel and then closed it aborted the server
 * with SIGABRT (4 of 4 runs without the workaround). The server must survive and stop cleanly.
 */
import assert from "node:assert/strict";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { createClient } from "@parlmt/grpc";
import { serviceMain } from "@parlmt/stack";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitListening(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test({
  name: "grpc - clients closing busy channels leave the server running",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const port = freePort();
    const address = `127.0.0.1:${port}`;
    // Started as a deployment starts it (not through spawnService, whose pipes hid the crash).
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        serviceMain("env-simulator"),
        "--port",
        String(port),
        "--admin-port",
        "0",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(server.stderr).text();
    try {
      // Wait for the port without a gRPC call of our own (one more channel changes the timing).
      await waitListening(port);
      const script = new URL("./fixtures/busy_client.ts", import.meta.url).pathname;
      for (let round = 0; round < 2; round++) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", script, address, "300"],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      }
      await new Promise((r) => setTimeout(r, 500));
      const probe = createClient(EnvService, address);
      try {
        assert.equal(
          (await probe.listTasks({ category: "multi_turn_base", pageSize: 1 })).total,
          200,
        );
      } finally {
        probe.close();
      }
    } finally {
      try {
        server.kill("SIGTERM");
      } catch { /* already exited: the assertions below say why */ }
      const status = await server.status;
      const log = await stderr;
      assert.doesNotMatch(log, /free\(\)|Assertion/, "no native abort in the server");
      assert.equal(status.code, 0, `server exit: ${status.code} ${status.signal}`);
    }
  },
});
