/** Runs a service's main.ts as a child process and waits for its ready line. */
import { fileURLToPath } from "node:url";
import { trackChild } from "./children.ts";

/** A running service process. */
export interface SpawnedService {
  name: string;
  port: number;
  adminPort: number;
  /** `127.0.0.1:PORT`. */
  address: string;
  child: Deno.ChildProcess;
  /** Resolves with the exit code once the process ended and its output is flushed. */
  exited: Promise<number>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode spawnService}. */
export interface SpawnServiceOptions {
  /** Extra flags. */
  args?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** Give up waiting for the ready line after this long. @default {60000} */
  timeoutMs?: number;
  /** Where the child's JSON logs go: discarded, inherited, or appended to a file. @default {"null"} */
  stderr?: "inherit" | "null" | { file: string };
  /** Pass `--port 0 --admin-port 0` so the child picks free ports. @default {true} */
  randomPorts?: boolean;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The path of `services/<name>/main.ts`. */
export function serviceMain(name: string): string {
  return `${REPO_ROOT}services/${name}/main.ts`;
}

/**
 * Spawns `deno run -A services/<name>/main.ts --port 0 --admin-port 0 ...` and resolves once it
 * prints `{"ready":true,...}`; rejects (and kills the child) on timeout or early exit.
 */
export async function spawnService(
  name: string,
  options: SpawnServiceOptions = {},
): Promise<SpawnedService> {
  const { args = [], env = {}, timeoutMs = 60_000, stderr = "null", randomPorts = true } = options;
  const portArgs = randomPorts ? ["--port", "0", "--admin-port", "0"] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", serviceMain(name), ...portArgs, ...args],
    cwd: REPO_ROOT,
    env,
    // Own process group: a terminal's Ctrl-C reaches only the parent, which then stops each
    // child exactly once (a second signal would force the child's exit).
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: typeof stderr === "string" ? stderr : "piped",
  }).spawn();
  trackChild(child);
  let logged: Promise<void> = Promise.resolve();
  if (typeof stderr === "object") {
    const file = await Deno.open(stderr.file, { write: true, create: true, append: true });
    logged = child.stderr.pipeTo(file.writable).catch(() => {});
  }
  const status = child.status;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Service "${name}" not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const early = status.then((s) => {
    throw new Error(`Service "${name}" exited with code ${s.code} before it was ready`);
  });
  let ready: { port: number; adminPort: number };
  try {
    ready = await Promise.race([readReady(reader), timeout, early]);
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await status;
    throw err;
  } finally {
    clearTimeout(timer);
    early.catch(() => {});
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* the pipe closed */ }
  })();
  // The exit code, once the process ended and its log file holds everything it wrote.
  const exited = Promise.all([status, drained, logged]).then(([s]) => s.code);
  let stopped: Promise<number> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
      return await exited;
    })();
    return stopped;
  };
  return {
    name,
    port: ready.port,
    adminPort: ready.adminPort,
    address: `127.0.0.1:${ready.port}`,
    child,
    exited,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

async function readReady(
  reader: ReadableStreamDefaultReader<string>,
): Promise<{ port: number; adminPort: number }> {
  let buffered = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stdout closed before the ready line");
    buffered += value;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith("{")) continue;
      const msg = JSON.parse(line);
      if (msg.ready === true) return { port: msg.port, adminPort: msg.adminPort };
    }
  }
}
