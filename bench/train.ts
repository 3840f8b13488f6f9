/**
 * Training-engine bench on the compute.md reference model (2 layers, width 128, 4 heads, ff 512,
 * vocab 512, ctx 256) on two threads. Generation runs on the step graph policy-inference serves
 * (`generate b1|b16`) and, for reference, on the Hugging Face interface graph that exported
 * models use (`generate b1|b16 (HF interface)`). Prints one figure per line, each the median of several
 * repetitions; the matmul probe is the same-run yardstick of the machine's speed (each figure
 * is also printed per GFLOP/s of the probe, to compare runs on a busy machine), and the last
 * line reports how many cores other processes used meanwhile (compute.md's runq check).
 *
 *   deno run -A bench/train.ts [--threads=2] [--reps=5] [--denormals-as-zero]
 *
 * `--denormals-as-zero` runs every session with ORT's flush-to-zero (see SessionOptions).
 */
import { parseArgs } from "node:util";
import { GraphBuilder, type HostTensor, hostTensor, matMul } from "@parlmt/onnx";
import { Session } from "@parlmt/ort";
import {
  buildInferenceGraph,
  CACHE_NAMES,
  Decoder,
  DEFAULT_MODEL_CONFIG as C,
  initWeights,
  Prng,
  StepDecoder,
  Trainer,
} from "@parlmt/model";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeReps(reps: number, warmup: number, fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** Session options of every bench session. */
let DAZ = false;

async function benchTrain(threads: number, reps: number): Promise<number> {
  const B = 16, T = 256;
  const trainer = await Trainer.create(C, initWeights(C, 1), {
    batchSize: B,
    seqLen: T,
    intraOpNumThreads: threads,
    denormalsAsZero: DAZ,
  });
  const rng = new Prng(2);
  const ids = Array.from({ length: B * T }, () => rng.int(C.vocabSize));
  const batch = {
    input_ids: ids,
    targets: ids.map((x) => (5 * x + 3) % C.vocabSize),
    loss_mask: new Array(B * T).fill(1),
  };
  // Steady state, as a training run sees it: the first two steps of a session run ~1.5-2x
  // slower and steps 3-5 another 3-10% (measured step by step against steps 6-30 of the same
  // process), so five are warm-up and the median is over three times the repetitions of the
  // other figures.
  const ms = await timeReps(3 * reps, 5, async () => void await trainer.trainStep(batch, 1e-3));
  await trainer.dispose();
  return (B * T) / (ms / 1000);
}

async function benchForward(threads: number, reps: number): Promise<number> {
  const B = 16, T = 256;
  const weights = initWeights(C, 1);
  const s = await Session.create(buildInferenceGraph(C).toBytes(), {
    intraOpNumThreads: threads,
    denormalsAsZero: DAZ,
  });
  const rng = new Prng(3);
  const feeds: Record<string, HostTensor> = {
    input_ids: hostTensor(
      "int64",
      [B, T],
      BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(C.vocabSize))),
    ),
    attention_mask: hostTensor("int64", [B, T], new BigInt64Array(B * T).fill(1n)),
    position_ids: hostTensor(
      "int64",
      [B, T],
      BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)),
    ),
  };
  for (let l = 0; l < C.nLayer; l++) {
    const empty = hostTensor("float32", [B, C.nHead, 0, C.nEmbd / C.nHead]);
    feeds[CACHE_NAMES.pastKey(l)] = empty;
    feeds[CACHE_NAMES.pastValue(l)] = empty;
  }
  for (const [k, t] of weights) feeds[k] = t;
  const ms = await timeReps(reps + 2, 2, async () => void await s.run(feeds, ["logits"]));
  await s.dispose();
  return (B * T) / (ms / 1000);
}

/**
 * Greedy generation with a KV cache from a one-token start until the context is full: on the
 * step graph policy-inference serves (the cache preallocated and read in place, `step`), or on
 * the Hugging Face interface graph (the cache concatenated and returned every step, `hf`).
 */
async function benchGenerate(
  threads: number,
  reps: number,
  batch: number,
  graph: "step" | "hf",
): Promise<number> {
  const weights = initWeights(C, 1);
  const opts = { intraOpNumThreads: threads, denormalsAsZero: DAZ };
  const dec = graph === "step"
    ? await StepDecoder.create(C, weights, opts)
    : await Decoder.create(C, { weights, ...opts });
  const steps = C.blockSize - 1; // one start token, then fill the context greedily
  const prompts = Array.from({ length: batch }, (_, b) => [b % C.vocabSize]);
  const ms = await timeReps(reps, 1, async () => void await dec.greedy(prompts, steps));
  await dec.dispose();
  return (batch * steps) / (ms / 1000);
}

async function benchMatmul(threads: number, reps: number): Promise<number> {
  const N = 512;
  const g = new GraphBuilder("matmul_probe");
  g.output(matMul(g.input("a", "float32", [N, N]), g.input("b", "float32", [N, N])), "y");
  const s = await Session.create(g.toBytes(), { intraOpNumThreads: threads, denormalsAsZero: DAZ });
  const a = hostTensor("float32", [N, N]);
  (a.data as Float32Array).fill(0.5);
  const feeds = { a, b: a };
  const ms = await timeReps(reps * 4, 5, async () => void await s.run(feeds));
  await s.dispose();
  return (2 * N ** 3) / (ms / 1000) / 1e9;
}

/** Busy CPU seconds of the whole machine and of this process, from /proc (Linux only). */
function cpuSeconds(): { all: number; self: number } | null {
  try {
    const stat = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = stat.slice(1).map(Number);
    const all = (user! + nice! + system! + irq! + softirq! + steal!) / 100;
    const self = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
    return { all, self: (Number(self[11]) + Number(self[12])) / 100 };
  } catch (_) {
    return null; // not Linux: the foreign-load line is skipped
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      threads: { type: "string", default: "2" },
      reps: { type: "string", default: "5" },
      "denormals-as-zero": { type: "boolean", default: false },
    },
    strict: true,
  });
  DAZ = values["denormals-as-zero"];
  const threads = Number(values.threads);
  const reps = Number(values.reps);
  const fmt = (x: number) => Math.round(x).toString();
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const probeBefore = await benchMatmul(threads, reps);
  const figures: [string, number][] = [];
  const report = (name: string, tokensPerSec: number) => {
    figures.push([name, tokensPerSec]);
    console.log(`${name}: ${fmt(tokensPerSec)} tokens/s`);
  };
  report("train", await benchTrain(threads, reps));
  report("forward", await benchForward(threads, reps));
  report("generate b1", await benchGenerate(threads, reps, 1, "step"));
  report("generate b16", await benchGenerate(threads, reps, 16, "step"));
  report("generate b1 (HF interface)", await benchGenerate(threads, reps, 1, "hf"));
  report("generate b16 (HF interface)", await benchGenerate(threads, reps, 16, "hf"));
  // Probed before and after the workloads; the larger is the machine's speed in this run.
  const probeAfter = await benchMatmul(threads, reps);
  console.error(`matmul probe before ${probeBefore.toFixed(1)}, after ${probeAfter.toFixed(1)}`);
  const probe = Math.max(probeBefore, probeAfter);
  console.log(`matmul probe: ${probe.toFixed(1)} GFLOP/s`);
  const perProbe = figures.map(([name, x]) => `${name} ${(x / probe).toFixed(1)}`).join(", ");
  console.log(`per probe GFLOP/s: ${perProbe} tokens/s`);
  const cpu1 = cpuSeconds();
  if (cpu0 && cpu1) {
    // CPU used by other processes during the run, in cores: > 0.2 means the figures are disturbed.
    const wallS = (performance.now() - t0) / 1000;
    const foreign = (cpu1.all - cpu0.all - (cpu1.self - cpu0.self)) / wallS;
    console.log(`foreign load: ${foreign.toFixed(2)} cores`);
  }
}

if (import.meta.main) await main();
