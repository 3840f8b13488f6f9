/**
 * The only importer of onnxruntime-node: create a session from model bytes, run it on host
 * tensors, dispose it.
 */
import * as ort from "onnxruntime-node";
import type { DType, HostTensor, TypedArray } from "@parlmt/onnx";

/** Session options. */
export interface SessionOptions {
  /** Threads used inside one op. @default 2 */
  intraOpNumThreads?: number;
  /** Graph optimization level. @default "all" */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /** Enable ORT's profiler, writing a JSON trace to files starting with this prefix. */
  profileFilePrefix?: string;
  /**
   * Flush denormal floats to zero in ORT's kernels (FTZ/DAZ). A softmax over rows masked with a
   * large negative bias (the causal mask) otherwise spends most of its time on denormals (the
   * decoder's attention avoids most of that by flooring masked scores, see selfScoreFloor). ORT
   * sets the flags on its pool threads, and on the calling thread only for the process's first
   * session: the JS main thread then flushes denormals too (`String(5e-324)` gives "0"), so
   * decide once per process, at its first session. @default false
   */
  denormalsAsZero?: boolean;
  /**
   * Let the intra-op pool threads spin while they wait for work (ORT's default). Spinning
   * shortens hand-overs inside a run, but keeps the pool's cores busy after it: a process that
   * does other work between runs (a server answering requests) loses that time. @default true
   */
  allowSpinning?: boolean;
}

/** An onnxruntime inference session over host tensors. */
export class Session {
  #session: ort.InferenceSession;
  #disposed = false;

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** Creates a session from serialized model bytes. */
  static async create(modelBytes: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const { intraOpNumThreads = 2, graphOptimizationLevel = "all", profileFilePrefix } = opts;
    if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
      throw new RangeError(`Cannot create session: intraOpNumThreads ${intraOpNumThreads}`);
    }
    const extra: Record<string, string> = {};
    if (opts.denormalsAsZero) extra.set_denormal_as_zero = "1";
    if (opts.allowSpinning === false) extra["intra_op.allow_spinning"] = "0";
    const session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel,
      ...(profileFilePrefix ? { enableProfiling: true, profileFilePrefix } : {}),
      ...(Object.keys(extra).length ? { extra: { session: extra } } : {}),
    });
    return new Session(session);
  }

  /** Input names of the model. */
  get inputNames(): readonly string[] {
    return this.#session.inputNames;
  }

  /** Output names of the model. */
  get outputNames(): readonly string[] {
    return this.#session.outputNames;
  }

  /** Runs the model; returns the requested outputs (default: all) as host tensors. */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    if (this.#disposed) throw new TypeError("Cannot run session: it is disposed");
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.dtype, t.data as never, t.dims as number[]);
    }
    const res = outputNames
      ? await this.#session.run(ortFeeds, outputNames as string[])
      : await this.#session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(res)) {
      out[name] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as TypedArray };
    }
    return out;
  }

  /** Releases the native session. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.release();
  }
}
