/** Starts a real `nats-server` with JetStream on a random loopback port (nst launcher style). */
import { trackChild } from "./children.ts";

/** A running nats-server. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** The server's process id. */
  pid: number;
  /** JetStream storage directory. */
  storeDir: string;
  /** Stops the server and removes its storage unless `keepStore`. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startNatsServer}. */
export interface StartNatsServerOptions {
  /** JetStream storage directory. @default {a new temporary directory} */
  storeDir?: string;
  /** Keep the storage directory on stop. @default {false} */
  keepStore?: boolean;
  /** Fixed port. @default {a random free port} */
  port?: number;
  /** Give up waiting for the ports file after this long. @default {10000} */
  timeoutMs?: number;
  /** Where the server's own log goes. @default {"null"} */
  stderr?: "inherit" | "null";
}

/** The binary, from `NATS_SERVER_BIN` or the PATH. */
export function natsServerBinary(env: Record<string, string | undefined> = {}): string {
  return env.NATS_SERVER_BIN ?? "nats-server";
}

/**
 * Starts `nats-server -js` bound to 127.0.0.1 and resolves once its ports file names the port.
 * Fails with an install hint when the binary is missing.
 */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServer> {
  const { keepStore = false, timeoutMs = 10_000, stderr = "null" } = options;
  const storeDir = options.storeDir ?? await Deno.makeTempDir({ prefix: "parlmt-nats-" });
  const portsDir = await Deno.makeTempDir({ prefix: "parlmt-nats-ports-" });
  const args = [
    "-js",
    "-a",
    "127.0.0.1",
    "-p",
    String(options.port ?? -1),
    "-sd",
    storeDir,
    "--ports_file_dir",
    portsDir,
  ];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(natsServerBinary(Deno.env.toObject()), {
      args,
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr,
    }).spawn();
    trackChild(child);
  } catch (err) {
    throw new Error(
      "Cannot start nats-server: is it installed? (apt-get install -y nats-server, or set NATS_SERVER_BIN)",
      { cause: err },
    );
  }
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const cleanup = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    await status;
    await Deno.remove(portsDir, { recursive: true }).catch(() => {});
    if (!keepStore && options.storeDir === undefined) {
      await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (exited) {
      await cleanup();
      throw new Error(`nats-server exited early with code ${(await status).code}`);
    }
    const port = await readPort(portsDir);
    if (port !== undefined) {
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        pid: child.pid,
        storeDir,
        stop: cleanup,
        [Symbol.asyncDispose]: cleanup,
      };
    }
    if (Date.now() > deadline) {
      await cleanup();
      throw new Error(`nats-server did not report its port within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function readPort(dir: string): Promise<number | undefined> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ports")) continue;
    try {
      const ports = JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`));
      const url: string | undefined = ports.nats?.[0];
      const match = url ? /:(\d+)$/.exec(url) : null;
      if (match) return Number(match[1]);
    } catch {
      // The file may be half-written; try again on the next poll.
    }
  }
  return undefined;
}
