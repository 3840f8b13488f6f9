/**
 * A parent that started a stack and is killed (SIGTERM) or interrupted (SIGINT) stops every child
 * it started before exiting: services and nats-server run in process groups of their own, so
 * nothing else would reach them.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./fixtures/signal_stack.ts", import.meta.url));

/** Whether `pid` is a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.split(") ")[1]![0] !== "Z";
  } catch {
    return false;
  }
}

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test({
    name: `stack - ${signal} to the parent stops nats-server, services and scripts it started`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const parent = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", FIXTURE],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += value;
      }
      const children = (JSON.parse(line) as { pids: number[] }).pids;
      assert.equal(children.length, 3);
      assert.ok(children.every(alive), "the children run before the signal");
      parent.kill(signal);
      const status = await parent.status;
      await reader.cancel();
      assert.equal(status.code, code);
      // Orphans are reaped by init; give it a moment.
      for (let i = 0; i < 50 && children.some(alive); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const left = children.filter(alive);
      for (const pid of left) Deno.kill(pid, "SIGKILL"); // no orphans, even when failing
      assert.deepEqual(left, [], "every child stopped");
    },
  });
}
