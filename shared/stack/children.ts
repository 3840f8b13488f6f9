/**
 * The child processes this process started and that are still running (services, nats-server,
 * scripts). Services and nats-server run in process groups of their own, so a terminal's Ctrl-C
 * or a `kill` of the parent does not reach them: a parent that starts a stack calls
 * exitOnSignals(), which stops every live child before it exits.
 */

const live = new Set<Deno.ChildProcess>();

/** Records `child` until it exits. */
export function trackChild(child: Deno.ChildProcess): void {
  live.add(child);
  child.status.finally(() => live.delete(child)).catch(() => {});
}

/** Child processes started here that have not exited. */
export function liveChildren(): number {
  return live.size;
}

/** Options of exitOnSignals(). */
export interface ExitOnSignalsOptions {
  /** How long the children get after SIGTERM before SIGKILL. @default 10000 */
  readonly graceMs?: number;
  /** Called first, e.g. to say what is happening. */
  readonly onSignal?: (signal: Deno.Signal) => void;
}

/**
 * On SIGINT or SIGTERM: SIGTERM to every live child, SIGKILL to those still running after
 * `graceMs`, then exit with 128 + the signal's number (130, 143). Returns the remover of the
 * listeners.
 */
export function exitOnSignals(opts: ExitOnSignalsOptions = {}): () => void {
  const { graceMs = 10_000, onSignal } = opts;
  let stopping = false;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = async () => {
      if (stopping) return;
      stopping = true;
      onSignal?.(signal);
      const children = [...live];
      for (const c of children) {
        try {
          c.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const all = Promise.allSettled(children.map((c) => c.status));
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), graceMs)));
      if (await Promise.race([all, late]) === "late") {
        for (const c of live) {
          try {
            c.kill("SIGKILL");
          } catch { /* already gone */ }
        }
        await all;
      }
      clearTimeout(timer);
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  };
}
