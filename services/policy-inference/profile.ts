/**
 * Optional timing of the scheduler loop (env `PARLMT_POLICY_PROFILE=1`): per busy period (from
 * the first queued request to the loop going idle) the wall time split into onnxruntime runs of
 * decode steps and prefills, JS around them (sampling, slot writes, row bookkeeping), admission
 * and the time the loop yields to I/O (gRPC handling of the same process), plus the mean batch
 * size decoded, the mean time a request waits in the queue and the mean time from submit() to
 * its result (a client's send-to-receive time minus this is the gRPC path both ways). Printed to
 * stderr when the loop goes idle; off by default (no cost).
 */

/** Accumulated timings of one busy period. */
export class LoopProfile {
  readonly #start = performance.now();
  decodeRuns = 0;
  decodeRows = 0;
  decodeOrtMs = 0;
  decodeJsMs = 0;
  prefillRuns = 0;
  prefillRows = 0;
  prefillOrtMs = 0;
  prefillJsMs = 0;
  admitMs = 0;
  yieldMs = 0;
  otherMs = 0;
  tokens = 0;
  preMs = 0;
  appendMs = 0;
  emitMs = 0;
  /** Requests admitted, and their summed time in the queue. */
  admitted = 0;
  queueWaitMs = 0;
  /** Requests finished, and their summed time from submit() to the result. */
  finished = 0;
  latencyMs = 0;

  /** A one-line summary. */
  summary(): string {
    const wall = performance.now() - this.#start;
    const per = (ms: number, n: number) => n ? (ms / n * 1000).toFixed(0) : "-";
    const pct = (ms: number) => `${(100 * ms / wall).toFixed(0)}%`;
    return [
      `[policy-profile] wall ${wall.toFixed(0)} ms, ${this.tokens} tokens`,
      `(${(this.tokens / wall * 1000).toFixed(0)}/s);`,
      `decode ${this.decodeRuns} runs, mean batch ${
        (this.decodeRows / this.decodeRuns).toFixed(1)
      },`,
      `ORT ${per(this.decodeOrtMs, this.decodeRuns)} µs/run (${pct(this.decodeOrtMs)}),`,
      `JS ${per(this.decodeJsMs, this.decodeRuns)} µs/run (${pct(this.decodeJsMs)});`,
      `prefill ${this.prefillRuns} runs of ${this.prefillRows} rows,`,
      `ORT ${per(this.prefillOrtMs, this.prefillRuns)} µs/run (${pct(this.prefillOrtMs)}),`,
      `JS ${per(this.prefillJsMs, this.prefillRuns)} µs/run (${pct(this.prefillJsMs)});`,
      `(before run ${per(this.preMs, this.decodeRuns)}, KV append ${
        per(this.appendMs, this.decodeRuns)
      }, sampling+rows ${per(this.emitMs, this.decodeRuns)} µs/run);`,
      `admit ${pct(this.admitMs)} (queue wait ${
        this.admitted ? (this.queueWaitMs / this.admitted).toFixed(1) : "-"
      } ms/request), yield to I/O ${pct(this.yieldMs)}`,
      `(${per(this.yieldMs, this.decodeRuns)} µs/step), other ${pct(this.otherMs)};`,
      `submit to result ${
        this.finished ? (this.latencyMs / this.finished).toFixed(1) : "-"
      } ms/request`,
    ].join(" ");
  }
}

/** Whether profiling is on (read once). */
export const PROFILE_ON: boolean = (() => {
  try {
    return Deno.env.get("PARLMT_POLICY_PROFILE") === "1";
  } catch {
    return false;
  }
})();
