/**
 * The decoding half of policy-inference: the engine (weights file, model folder, or the bus),
 * the tokenizer's text side, the batching scheduler and verified weight swaps. It runs inside
 * the engine worker (engine_worker.ts, the default) or on the main thread (`--engine-thread
 * main`); either way the request side talks to it through `EngineBackend`.
 */
import { BpeTokenizer, TURN_TOKENS } from "@parlmt/tokenizer";
import { type TokenBytes, tokenBytesOf, TurnFormatConstraint } from "./constrained.ts";
import { Engine } from "./engine.ts";
import type { GenerationScheduler } from "./generation.ts";
import { Scheduler } from "./scheduler.ts";
import { loadWeightsEngine } from "./weights_swap.ts";

/** What the core is built from: plain data, so it can be posted to a worker. */
export interface CoreOptions {
  /** tokenizer.json ("" = the model folder's, if any). */
  readonly tokenizer: string;
  readonly modelDir: string;
  readonly weightsFile: string;
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly retainVersions: number;
  readonly intraOpThreads: number;
  /** Threads of prefills (default: intraOpThreads). */
  readonly prefillThreads?: number;
  readonly intraOpSpinning: boolean;
  readonly canaryTolerance: number;
  readonly requireCanary: boolean;
  /** Event-loop turns after each decode step (SchedulerOptions.ioTurns). */
  readonly ioTurns?: number;
}

/** The request side's view of the decoding side, on whichever thread it runs. */
export interface EngineBackend extends GenerationScheduler {
  readonly queueDepth: number;
  readonly activeRequests: number;
  readonly tokensGenerated: number;
  /** Called when the counters above change (metrics). */
  onStep?: () => void;
  /** Verifies, canaries and installs a weights blob; resolves to its config JSON. */
  apply(
    version: bigint,
    bytes: Uint8Array,
    meta: Readonly<Record<string, string>>,
  ): Promise<string>;
  /** Refuses new requests and finishes the queued and active ones. */
  close(): Promise<void>;
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The tokenizer.json a config names (its own, else the model folder's); "" when none. */
export async function tokenizerPath(o: Pick<CoreOptions, "tokenizer" | "modelDir">) {
  const path = o.tokenizer || (o.modelDir ? `${o.modelDir}/tokenizer.json` : "");
  if (path && await exists(path)) return path;
  if (o.tokenizer) throw new RangeError(`Cannot read --tokenizer "${o.tokenizer}": no such file`);
  return "";
}

/** Reads a tokenizer.json. */
export async function readTokenizer(path: string): Promise<BpeTokenizer> {
  return BpeTokenizer.fromJSON(JSON.parse(await Deno.readTextFile(path)));
}

/** The scheduler over the configured engine, with swaps; runs on the thread that loads it. */
export class ServingCore implements EngineBackend {
  readonly scheduler: Scheduler;
  #opts: CoreOptions;
  #tokenizer?: BpeTokenizer;
  #bytes?: TokenBytes;

  private constructor(scheduler: Scheduler, opts: CoreOptions, tokenizer?: BpeTokenizer) {
    this.scheduler = scheduler;
    this.#opts = opts;
    this.#tokenizer = tokenizer;
  }

  /** Loads the tokenizer, the initial engine (if any) and the scheduler. */
  static async load(o: CoreOptions): Promise<ServingCore> {
    const threads = {
      intraOpNumThreads: o.intraOpThreads,
      prefillThreads: o.prefillThreads,
      spinning: o.intraOpSpinning,
    };
    const path = await tokenizerPath(o);
    const tokenizer = path ? await readTokenizer(path) : undefined;
    const eosIds: number[] = [];
    let initial: Engine | undefined;
    if (o.modelDir) {
      initial = await Engine.fromModelDir(o.modelDir, threads);
      eosIds.push(...initial.eosIds);
      const tcPath = `${o.modelDir}/tokenizer_config.json`;
      if (await exists(tcPath)) {
        const tc = JSON.parse(await Deno.readTextFile(tcPath));
        const eos = typeof tc.eos_token === "string" ? tokenizer?.tokenId(tc.eos_token) : undefined;
        if (eos !== undefined) eosIds.push(eos);
      }
    } else if (o.weightsFile) {
      initial = await Engine.fromWeightsBlob(await Deno.readFile(o.weightsFile), threads);
    }
    const end = tokenizer?.tokenId(TURN_TOKENS.end);
    if (end !== undefined && tokenizer?.specialTokens.includes(TURN_TOKENS.end)) eosIds.push(end);
    const scheduler = new Scheduler({
      maxBatch: o.maxBatch,
      maxQueue: o.maxQueue,
      retainVersions: o.retainVersions,
      // Ids beyond the tokenizer (a model vocabulary padded past it) decode to nothing.
      codec: tokenizer && {
        decode: (ids: readonly number[]) => tokenizer.decode(ids.filter((i) => i < tokenizer.size)),
      },
      eosIds: [...new Set(eosIds)],
      ioTurns: o.ioTurns,
    });
    if (initial) await scheduler.install(initial);
    return new ServingCore(scheduler, o, tokenizer);
  }

  get current(): Engine | null {
    return this.scheduler.current;
  }
  get queueDepth(): number {
    return this.scheduler.queueDepth;
  }
  get activeRequests(): number {
    return this.scheduler.activeRequests;
  }
  get tokensGenerated(): number {
    return this.scheduler.tokensGenerated;
  }
  get onStep(): (() => void) | undefined {
    return this.scheduler.onStep;
  }
  set onStep(f: (() => void) | undefined) {
    this.scheduler.onStep = f;
  }

  submit: Scheduler["submit"] = (job) => this.scheduler.submit(job);

  /** The turn-format constraint for `tools` over this core's tokenizer (for worker jobs). */
  constraint(tools: readonly string[], endIds: readonly number[]): TurnFormatConstraint {
    const tok = this.#tokenizer;
    if (!tok) throw new RangeError("Cannot constrain decoding: no tokenizer is loaded");
    this.#bytes ??= tokenBytesOf(tok.vocab, tok.specialTokens);
    return new TurnFormatConstraint(tools, this.#bytes, endIds);
  }

  async apply(
    version: bigint,
    bytes: Uint8Array,
    meta: Readonly<Record<string, string>>,
  ): Promise<string> {
    const o = this.#opts;
    const loaded = await loadWeightsEngine(version, bytes, meta, {
      canaryTolerance: o.canaryTolerance,
      requireCanary: o.requireCanary,
      intraOpNumThreads: o.intraOpThreads,
      prefillThreads: o.prefillThreads,
      spinning: o.intraOpSpinning,
    });
    await this.scheduler.install(loaded.engine);
    return loaded.engine.configJson;
  }

  close(): Promise<void> {
    return this.scheduler.close();
  }
}
