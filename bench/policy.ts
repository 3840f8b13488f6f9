/**
 * `deno task bench:policy`: generation throughput of policy-inference (a real process, gRPC over
 * loopback) at concurrency 1, 8 and 32, beside bare onnxruntime-node KV-cache greedy decode loops
 * of the same model (batch = concurrency, no scheduler, no RPC) measured in the same run: the
 * Hugging Face interface graph of @parlmt/model (the cache concatenated and returned each step)
 * and the step graph the server runs (the cache read in place); the faster one is the
 * reference, and both must produce the same tokens. Each bare loop runs once with
 * onnxruntime's pool threads spinning between runs (its default) and once with them sleeping
 * (as the server runs), and counts the faster: the reference is the best bare loop, whatever
 * the load on the machine. `PARLMT_BENCH_POLICY_PREFILL_THREADS` sets the server's
 * `--prefill-threads` (default: its own). Also the cost of
 * constrained decoding; and announce-to-serving latency of a 10 MB weights update (object
 * store put, announcement, fetch, SHA-256, decode, session build, canary, swap).
 * At 32 it also prints what bounds the served rate on this machine: the CPU of each side while
 * serving (engine threads, the server's I/O thread, the clients; Linux /proc), the CPU the RPC
 * path alone takes at the served call rate (the same glue against an echo server in its own
 * process, `_echo_server.ts`), and the rate the cores it leaves could decode at the one-thread
 * bare rate, as a fraction of the bare loop.
 * The last line is `served/bare at 32: R`.
 */
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { EchoService } from "@parlmt/gen/parlmt/testing/v1/echo_pb.ts";
import { Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { createClient } from "@parlmt/grpc";
import {
  Decoder,
  encodeWeights,
  initWeights,
  modelConfig,
  paramCount,
  StepDecoder,
} from "@parlmt/model";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { spawnService, startNatsServer } from "@parlmt/stack";
import { testTokenizer } from "../services/policy-inference/_test_model.ts";
import { tokenBytesOf, TurnFormatConstraint } from "../services/policy-inference/constrained.ts";
import { canaryMeta } from "../services/policy-inference/weights_swap.ts";

const PROMPT_TOKENS = 16;
/** The server's stderr file when its loop is profiled (PARLMT_POLICY_PROFILE=1). */
const PROFILE = Deno.env.get("PARLMT_POLICY_PROFILE") === "1"
  ? Deno.env.get("PARLMT_POLICY_PROFILE_FILE") ?? "/tmp/parlmt-policy-profile.log"
  : "";
const NEW_TOKENS = 64;
/**
 * Generations per measurement, on both sides: each served client sends this many requests in a
 * row, and each bare loop decodes this many batches back to back, so both rates are steady
 * rates over a second or so of work, not one burst of a few tens of milliseconds.
 */
const ROUNDS = 8;
/**
 * The server decodes on this many engine threads of one onnxruntime thread each (data parallel,
 * `--engine-replicas`): on two cores that serves 10-20% more at 32 than one engine (docs/
 * policy-inference.md). `PARLMT_BENCH_POLICY_REPLICAS` overrides it.
 */
const REPLICAS = Number(Deno.env.get("PARLMT_BENCH_POLICY_REPLICAS") ?? 2);
const CONCURRENCY = [1, 8, 32];
/** The reference model of compute.md (2 layers, width 128, vocab 512, context 256). */
const CONFIG = modelConfig({ nLayer: 2, nHead: 4, nEmbd: 128, nFf: 512, vocabSize: 512 });

function prompt(i: number): number[] {
  return Array.from({ length: PROMPT_TOKENS }, (_, t) => (i * 31 + t * 7) % 250 + 1);
}

/** Anything that decodes equal-length prompts greedily: `Decoder` or `StepDecoder`. */
interface GreedyDecoder {
  greedy(prompts: readonly (readonly number[])[], steps: number): Promise<number[][]>;
}

/**
 * Bare loop: `rounds` batches of B prompts back to back, each one batched prefill and then
 * NEW_TOKENS - 1 greedy steps of batch B. No scheduler, no RPC. On `Decoder` it runs the Hugging
 * Face interface graph (the cache concatenated and returned each step); on `StepDecoder` the
 * serving step graph (the cache read in place, only new keys and values returned).
 */
async function bare(
  dec: GreedyDecoder,
  B: number,
  rounds = 1,
): Promise<{ rate: number; out: number[][] }> {
  const start = performance.now();
  let out: number[][] = [];
  let tokens = 0;
  for (let r = 0; r < rounds; r++) {
    out = await dec.greedy(Array.from({ length: B }, (_, i) => prompt(i + r * B)), NEW_TOKENS);
    tokens += out.flat().length;
  }
  const s = (performance.now() - start) / 1000;
  return { rate: tokens / s, out };
}

/** What `served` measured: tokens/s, calls/s and the mean send-to-receive time of a call. */
interface ServedRate {
  rate: number;
  callsPerSec: number;
  latencyMs: number;
}

/**
 * Served throughput at steady load: `C` clients each send `rounds` requests, the next as soon as
 * the last one answers (as rollout actors do). The rate counts the responses received while all
 * C were in flight and the first round was over (requests spread out over their different
 * lengths): from the last client's first answer to the first client's last answer, over that
 * time. The first round (all C arriving at once) and the drain at the end are not counted.
 */
async function served(
  client: ReturnType<typeof createClient<typeof PolicyService>>,
  C: number,
  rounds: number,
): Promise<ServedRate> {
  const latency = { ms: 0, n: 0 };
  const done: { t: number; n: number }[][] = await Promise.all(
    Array.from({ length: C }, async (_, i) => {
      const seen: { t: number; n: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const sent = performance.now();
        const res = await client.generate({
          params: {
            prompt: { case: "tokens", value: { tokenIds: prompt(i + r * C) } },
            // 48..80 new tokens (mean 64): requests finish at different steps, as in rollouts.
            sampling: { maxTokens: 48 + ((i * 7 + r * 13) % 33) },
          },
        });
        seen.push({ t: performance.now(), n: res.generation!.tokenIds.length });
        latency.ms += performance.now() - sent;
        latency.n++;
      }
      return seen;
    }),
  );
  if (PROFILE) {
    // Beside the server's "submit to result": the difference is the gRPC path both ways.
    console.error(
      `[served C=${C}] send to receive ${(latency.ms / latency.n).toFixed(1)} ms/request`,
    );
  }
  const from = Math.max(...done.map((d) => d[0]!.t));
  const until = Math.min(...done.map((d) => d.at(-1)!.t));
  let tokens = 0;
  let calls = 0;
  for (const d of done) {
    for (const { t, n } of d) {
      if (t > from && t <= until) {
        tokens += n;
        calls++;
      }
    }
  }
  const secs = (until - from) / 1000;
  return { rate: tokens / secs, callsPerSec: calls / secs, latencyMs: latency.ms / latency.n };
}

/** CPU seconds of each thread of process `pid` (Linux /proc), keyed `tid name`; empty elsewhere. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`);
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // utime + stime, in clock ticks of 1/100 s (USER_HZ).
        out.set(`${e.name} ${name}`, (Number(f[11]) + Number(f[12])) / 100);
      } catch { /* the thread ended */ }
    }
  } catch { /* no /proc */ }
  return out;
}

/** CPU seconds each thread used between two `threadCpu` readings, summed by `group(name)`. */
function cpuBy(
  before: Map<string, number>,
  after: Map<string, number>,
  group: (name: string) => string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, t] of after) {
    const g = group(key.slice(key.indexOf(" ") + 1));
    out.set(g, (out.get(g) ?? 0) + t - (before.get(key) ?? 0));
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * The RPC path alone at the served call rate: an echo server in its own process (the same glue
 * as every service) answers `C` clients here after `delayMs`, with answers of `bytes` bytes (a
 * 64-token Generate answer is ~600). Returns the CPU milliseconds per call on each side.
 */
async function rpcFloor(
  C: number,
  delayMs: number,
  bytes: number,
): Promise<{ clientMs: number; serverMs: number; callsPerSec: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_echo_server.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The echo server exited before it listened");
    line += value;
  }
  const { port } = JSON.parse(line.slice(0, line.indexOf("\n")));
  const echo = createClient(EchoService, `127.0.0.1:${port}`);
  const payload = new Uint8Array(bytes).fill(7);
  try {
    let calls = 0;
    let counting = false;
    let stop = false;
    const loops = Array.from({ length: C }, async () => {
      while (!stop) {
        await echo.echo({ text: "x", payload, delayMs });
        if (counting) calls++;
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const [c0, s0, t0] = [threadCpu(Deno.pid), threadCpu(child.pid), performance.now()];
    counting = true;
    await new Promise((r) => setTimeout(r, 3000));
    counting = false;
    const [c1, s1, t1] = [threadCpu(Deno.pid), threadCpu(child.pid), performance.now()];
    stop = true;
    await Promise.all(loops);
    const per = (a: Map<string, number>, b: Map<string, number>) =>
      (1000 * sum(cpuBy(a, b, () => ""))) / calls;
    return {
      clientMs: per(c0, c1),
      serverMs: per(s0, s1),
      callsPerSec: calls / ((t1 - t0) / 1000),
    };
  } finally {
    echo.close();
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel().catch(() => {});
  }
}

async function chatRate(
  client: ReturnType<typeof createClient<typeof PolicyService>>,
  C: number,
  constrained: boolean,
): Promise<number> {
  const start = performance.now();
  let tokens = 0;
  await Promise.all(Array.from({ length: C }, async (_, i) => {
    const res = await client.generate({
      params: {
        prompt: {
          case: "chat",
          value: {
            messages: [{ role: Role.USER, content: `list the files ${i}` }],
            tools: ["ls", "mv", "add"].map((name) => ({ name, parametersJson: "{}" })),
          },
        },
        sampling: { maxTokens: NEW_TOKENS, temperature: 1, seed: BigInt(i) },
        constrained,
      },
    });
    tokens += res.generation!.tokenIds.length;
  }));
  return tokens / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => x.toFixed(0).padStart(6);

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parlmt-bench-policy-" });
  const tokenizer = testTokenizer();
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(tokenizer.toJSON()));
  const weights = initWeights(CONFIG, 1);
  await using nats = await startNatsServer();
  await using svc = await spawnService("policy-inference", {
    args: [
      "--nats-url",
      nats.url,
      "--tokenizer",
      `${dir}/tokenizer.json`,
      "--max-batch",
      "32",
      "--engine-replicas",
      String(REPLICAS),
      "--intra-op-threads",
      "1",
      ...(Deno.env.get("PARLMT_BENCH_POLICY_PREFILL_THREADS")
        ? ["--prefill-threads", Deno.env.get("PARLMT_BENCH_POLICY_PREFILL_THREADS")!]
        : []),
    ],
    // PARLMT_POLICY_PROFILE=1: the server's loop timings (profile.ts) go to this file.
    ...(PROFILE ? { stderr: { file: PROFILE } } : {}),
  });
  const nc = await connectNats(nats.url);
  const client = createClient(PolicyService, svc.address);
  // Each bare loop with the pool threads spinning between runs (the default) and sleeping.
  const decoders = [
    await Decoder.create(CONFIG, { weights }),
    await Decoder.create(CONFIG, { weights, allowSpinning: false }),
  ];
  const stepSessions = [
    await StepDecoder.create(CONFIG, weights),
    await StepDecoder.create(CONFIG, weights, { allowSpinning: false }),
  ];
  try {
    const publisher = await WeightsPublisher.open(nc);
    await publisher.publish(1n, encodeWeights(CONFIG, weights, 1));
    while ((await client.getPolicyStatus({})).weightsVersion < 1n) {
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(
      `model: ${
        paramCount(CONFIG)
      } params (2 layers, width 128, vocab 512); prompt ${PROMPT_TOKENS} tokens, ${NEW_TOKENS} new tokens per request on average, greedy; best of 3; server: ${REPLICAS} engine replica(s) of 1 onnxruntime thread`,
    );
    await served(client, 4, 2); // warm up every side
    const outs: string[] = [];
    for (const d of decoders) outs.push(JSON.stringify((await bare(d, 4)).out));
    for (const s of stepSessions) outs.push(JSON.stringify((await bare(s, 4)).out));
    if (new Set(outs).size !== 1) throw new Error("The bare loops disagree on the greedy tokens");
    const ratios: number[] = [];
    // Where the CPU goes while 32 clients are served (the best of the three runs), and its calls.
    let split: { at: ServedRate; cores: Map<string, number> } | undefined;
    let ref32 = 0;
    const serverGroup = (name: string) =>
      name.startsWith("worker-")
        ? "engine threads"
        : name === "deno"
        ? "server I/O thread"
        : "server runtime (GC, ...)";
    for (const C of CONCURRENCY) {
      const s: number[] = [];
      const b: number[] = [];
      const bs: number[] = [];
      const burst: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        // Each client sends its next request as soon as the last one answers (steady load,
        // C requests always in flight), measured after the first round and before the drain.
        const [sv0, me0, t0] = [threadCpu(svc.child.pid), threadCpu(Deno.pid), performance.now()];
        const at = await served(client, C, ROUNDS);
        const secs = (performance.now() - t0) / 1000;
        const cores = cpuBy(sv0, threadCpu(svc.child.pid), serverGroup);
        cores.set("clients (this process)", sum(cpuBy(me0, threadCpu(Deno.pid), () => "")));
        for (const [k, v] of cores) cores.set(k, v / secs);
        if (C === 32 && at.rate > (split?.at.rate ?? 0)) split = { at, cores };
        s.push(at.rate);
        for (const d of decoders) b.push((await bare(d, C, ROUNDS)).rate);
        for (const [k, dec] of stepSessions.entries()) {
          burst.push((await bare(dec, C)).rate);
          const ort0 = dec.ortMs;
          const t0 = performance.now();
          bs.push((await bare(dec, C, ROUNDS)).rate);
          const bareOrtMs = dec.ortMs - ort0;
          if (PROFILE) {
            const ms = performance.now() - t0;
            console.error(
              `[bare step C=${C}${k ? ", pool sleeping" : ""}] wall ${ms.toFixed(0)} ms, ${
                ROUNDS * NEW_TOKENS
              } runs, ORT ${(bareOrtMs / (ROUNDS * NEW_TOKENS) * 1000).toFixed(0)} µs/run (${
                (100 * bareOrtMs / ms).toFixed(0)
              }%)`,
            );
          }
        }
      }
      // Best of 3 on every side (of 6 for a bare loop: both pool settings): the machine is
      // shared and noisy. The reference is the faster of the two bare loops (the Hugging Face
      // interface, and the step graph the server uses).
      const [sm, bm, bsm] = [Math.max(...s), Math.max(...b), Math.max(...bs)];
      const ref = Math.max(bm, bsm);
      ratios.push(sm / ref);
      if (C === 32) ref32 = ref;
      console.log(
        `concurrency ${String(C).padStart(2)}: served ${fmt(sm)} tokens/s (gRPC)   bare ORT loop ${
          fmt(bm)
        } (HF interface) / ${fmt(bsm)} (step graph) tokens/s   served/bare ${
          (sm / ref).toFixed(2)
        }   (one bare burst of ${NEW_TOKENS} steps: ${fmt(Math.max(...burst))} tokens/s)`,
      );
    }

    // What bounds the served rate at 32 on this machine: the cores the RPC path takes at the
    // served call rate (measured alone, against an echo server), and the best one-thread decode
    // rate per core for what is left (each engine replica decodes on one thread).
    if (split && sum(split.cores) > 0) {
      const cores = navigator.hardwareConcurrency;
      const parts = [...split.cores].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
      console.log(
        `CPU while serving 32 (${cores} cores; best run, ${
          split.at.callsPerSec.toFixed(0)
        } calls/s, ${split.at.latencyMs.toFixed(0)} ms each): ${parts}`,
      );
      const floor = await rpcFloor(32, Math.round(split.at.latencyMs), 600);
      const rpcCores = ((floor.clientMs + floor.serverMs) * split.at.callsPerSec) / 1000;
      const one = await StepDecoder.create(CONFIG, weights, { intraOpNumThreads: 1 });
      const B = Math.ceil(32 / REPLICAS);
      const perCore: number[] = [];
      for (let rep = 0; rep < 3; rep++) perCore.push((await bare(one, B, ROUNDS)).rate);
      await one.dispose();
      const bound = Math.max(0, cores - rpcCores) * Math.max(...perCore);
      console.log(
        `RPC path alone at that rate (echo server in its own process, 32 clients, ${
          Math.round(split.at.latencyMs)
        } ms per call, 600-byte answers; ${floor.callsPerSec.toFixed(0)} calls/s): ${
          floor.clientMs.toFixed(2)
        } ms client + ${floor.serverMs.toFixed(2)} ms server of CPU per call = ${
          rpcCores.toFixed(2)
        } cores at ${split.at.callsPerSec.toFixed(0)} calls/s`,
      );
      console.log(
        `bound at 32: the ${(cores - rpcCores).toFixed(2)} cores left x ${
          fmt(Math.max(...perCore)).trim()
        } tokens/s per core (one-thread bare step loop, batch ${B}) = ${
          fmt(bound).trim()
        } tokens/s = ${
          (bound / ref32).toFixed(2)
        } of the bare loop at 32 (no scheduler, sampling or empty slots counted)`,
      );
    }

    // Constrained decoding: end to end at concurrency 8, and the mask cost per token.
    const free = median([await chatRate(client, 8, false), await chatRate(client, 8, false)]);
    const cons = median([await chatRate(client, 8, true), await chatRate(client, 8, true)]);
    const bytes = tokenBytesOf(tokenizer.vocab, tokenizer.specialTokens);
    const c = new TurnFormatConstraint(["ls", "mv", "add"], bytes, [tokenizer.size - 1]);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) c.allowed();
    const maskUs = ((performance.now() - t0) / 200) * 1000;
    console.log(
      `constrained decoding (chat prompt with 3 tools, concurrency 8): ${fmt(cons)} tokens/s vs ${
        fmt(free)
      } unconstrained (${(cons / free).toFixed(2)}x); mask ${
        maskUs.toFixed(0)
      } µs/token over ${bytes.length} ids`,
    );

    // Announce-to-serving of a ~10 MB update (a different, larger config) with its canary.
    const base = { nLayer: 2, nHead: 4, nEmbd: 128, nFf: 512, blockSize: 256 };
    const blocks = paramCount(modelConfig({ ...base, vocabSize: 1 }));
    const big = modelConfig({ ...base, vocabSize: Math.round((10 * 262_144 - blocks) / 256) });
    const lat: number[] = [];
    let size = 0;
    for (let v = 2; v <= 4; v++) {
      const w = initWeights(big, v);
      const blob = encodeWeights(big, w, v);
      size = blob.byteLength;
      const meta = await canaryMeta(big, w, [1, 2, 3, 4, 5, 6, 7, 8]);
      const start = performance.now();
      await publisher.publish(BigInt(v), blob, meta);
      let st = await client.getPolicyStatus({});
      while (st.weightsVersion < BigInt(v) && /^(ok|none)$/.test(st.lastSwap)) {
        await new Promise((r) => setTimeout(r, 2));
        st = await client.getPolicyStatus({});
      }
      if (st.weightsVersion < BigInt(v)) throw new Error(`v${v} refused: ${st.lastSwap}`);
      lat.push(performance.now() - start);
    }
    console.log(
      `weights update of ${(size / 1e6).toFixed(1)} MB: announce-to-serving ${
        median(lat).toFixed(0)
      } ms median of 3 (put + announce + fetch + sha256 + decode + session + canary + swap)`,
    );
    console.log(`served/bare at 32: ${ratios.at(-1)!.toFixed(2)}`);
  } finally {
    client.close();
    for (const d of decoders) await d.dispose();
    for (const s of stepSessions) await s.dispose();
    await nc.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
