/**
 * Turning a verified weights payload into a serving engine: decode the weights blob, build the
 * session, and run the canary before anything is served from it. The learner publishes, in the
 * announcement's meta, `canary_prompt_ids` (a JSON array of token ids) and `canary_logprob` (the
 * decimal sum of log p(ids[t] | ids[<t]) for t ≥ 1 under the published weights). The loaded
 * engine must reproduce that sum within the tolerance, or it is disposed and the served
 * version stays (the swap is rolled back and reported).
 */
import { CANARY_LOGPROB_KEY, CANARY_PROMPT_KEY } from "@parlmt/model";
import { Engine } from "./engine.ts";

export { CANARY_LOGPROB_KEY, CANARY_PROMPT_KEY, canaryMeta } from "@parlmt/model";

/** The canary of a version did not reproduce the learner's value. */
export class CanaryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CanaryError";
  }
}

/** Options of loadWeightsEngine(). */
export interface LoadWeightsOptions {
  /** Largest accepted |served - published| of the canary sum. @default 1e-3 */
  readonly canaryTolerance?: number;
  readonly intraOpNumThreads?: number;
  /** Threads of prefills (EngineOptions.prefillThreads). */
  readonly prefillThreads?: number;
  /** Let onnxruntime's threads spin between runs (EngineOptions.spinning). @default false */
  readonly spinning?: boolean;
  /** Refuse versions without a canary in their meta. @default false */
  readonly requireCanary?: boolean;
}

/** The summed logprob of `ids` (tokens after the first) under an engine. */
export async function canaryLogprob(engine: Engine, ids: readonly number[]): Promise<number> {
  return (await engine.sequenceLogprobs(ids)).reduce((a, b) => a + b, 0);
}

/**
 * Builds the engine of a verified payload and checks its canary; throws (a `SyntaxError` or
 * `RangeError` for a malformed blob, CanaryError for a mismatch) without leaking the session.
 */
export async function loadWeightsEngine(
  version: bigint,
  bytes: Uint8Array,
  meta: Readonly<Record<string, string>>,
  opts: LoadWeightsOptions = {},
): Promise<{ engine: Engine; canary: string }> {
  const {
    canaryTolerance = 1e-3,
    intraOpNumThreads,
    prefillThreads,
    spinning,
    requireCanary = false,
  } = opts;
  let engine: Engine;
  try {
    engine = await Engine.fromWeightsBlob(bytes, {
      version,
      intraOpNumThreads,
      prefillThreads,
      spinning,
    });
  } catch (err) {
    throw new SyntaxError(`Cannot load weights v${version}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const idsText = meta[CANARY_PROMPT_KEY];
    const wantText = meta[CANARY_LOGPROB_KEY];
    if (idsText === undefined || wantText === undefined) {
      if (requireCanary) throw new CanaryError(`Cannot verify weights v${version}: no canary`);
      return { engine, canary: "none" };
    }
    let ids: number[];
    try {
      ids = JSON.parse(idsText);
    } catch {
      throw new CanaryError(`Cannot read ${CANARY_PROMPT_KEY} of v${version}: not JSON`);
    }
    const V = engine.shape.vocabSize;
    if (
      !Array.isArray(ids) || ids.length < 2 || ids.length > engine.shape.maxPositions ||
      !ids.every((t) => Number.isInteger(t) && t >= 0 && t < V)
    ) {
      throw new CanaryError(`Cannot read ${CANARY_PROMPT_KEY} of v${version}: invalid ids`);
    }
    const want = Number(wantText);
    if (!Number.isFinite(want)) {
      throw new CanaryError(`Cannot read ${CANARY_LOGPROB_KEY} of v${version}: "${wantText}"`);
    }
    const got = await canaryLogprob(engine, ids);
    const delta = Math.abs(got - want);
    if (!(delta <= canaryTolerance)) {
      throw new CanaryError(
        `Canary of v${version} failed: logprob ${got.toFixed(6)}, published ${want} (|Δ| ${
          delta.toExponential(2)
        } > ${canaryTolerance})`,
      );
    }
    return { engine, canary: `ok (|Δ| ${delta.toExponential(2)})` };
  } catch (err) {
    await engine.dispose();
    throw err;
  }
}
