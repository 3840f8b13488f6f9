/**
 * `deno task bench:rpc`: unary round-trip latency (p50/p99) and calls/s on loopback through
 * the project's glue (protobuf-es messages, interceptors for logging and metrics, as every
 * service runs), beside a bare grpc-js echo server with raw-bytes serialisers measured in the
 * same run. Client and server share one process in both cases.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { createClient, logging, metrics, RpcServer } from "@parlmt/grpc";
import { Logger, Metrics } from "@parlmt/log";
import { echoImpl, EchoService } from "@parlmt/testing";

const SEQUENTIAL_CALLS = 3000;
const CONCURRENCY = 32;
const THROUGHPUT_MS = 3000;
const ROUNDS = 3;
const PAYLOAD = new Uint8Array(64).fill(7);

type Call = () => Promise<unknown>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function latency(call: Call): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL_CALLS; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function throughput(call: Call): Promise<number> {
  let done = 0;
  const end = performance.now() + THROUGHPUT_MS;
  const worker = async () => {
    while (performance.now() < end) {
      await call();
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done / ((performance.now() - start) / 1000);
}

async function ours(): Promise<{ call: Call; close: () => Promise<void> }> {
  const logger = new Logger({ service: "bench", level: "warn" });
  const server = new RpcServer({ interceptors: [logging(logger), metrics(new Metrics("bench"))] });
  server.add(EchoService, echoImpl);
  const port = await server.listen();
  const client = createClient(EchoService, `127.0.0.1:${port}`);
  return {
    call: () => client.echo({ text: "ping", payload: PAYLOAD }),
    close: async () => {
      client.close();
      await server.shutdown(1000);
    },
  };
}

async function bare(): Promise<{ call: Call; close: () => Promise<void> }> {
  const identity = (b: Buffer) => b;
  const definition = {
    echo: {
      path: "/bench.Bare/Echo",
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const server = new grpc.Server();
  server.addService(definition, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const body = Buffer.from(PAYLOAD);
  const call = () =>
    new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        "/bench.Bare/Echo",
        identity,
        identity,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + 30_000 },
        (e, r) => (e ? reject(e) : resolve(r!)),
      )
    );
  return {
    call,
    close: () => {
      client.close();
      return new Promise((r) => server.tryShutdown(() => r()));
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Sample {
  p50: number;
  p99: number;
  rate: number;
}

async function measureOnce(make: () => Promise<{ call: Call; close: () => Promise<void> }>) {
  const target = await make();
  for (let i = 0; i < 200; i++) await target.call(); // warm-up
  const l = await latency(target.call);
  const rate = await throughput(target.call);
  await target.close();
  return { ...l, rate };
}

if (import.meta.main) {
  console.log(
    `Unary echo of a 64-byte payload on loopback; median of ${ROUNDS} rounds; latency over ` +
      `${SEQUENTIAL_CALLS} sequential calls, throughput with ${CONCURRENCY} in flight for ${THROUGHPUT_MS} ms.`,
  );
  // Rounds alternate between the two servers so that drift on a shared machine hits both.
  const targets = [["bare grpc-js", bare], ["parlmt glue", ours]] as const;
  const samples: Sample[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, make]] of targets.entries()) samples[i]!.push(await measureOnce(make));
  }
  const results = targets.map(([name], i) => ({
    name,
    p50: median(samples[i]!.map((s) => s.p50)),
    p99: median(samples[i]!.map((s) => s.p99)),
    rate: median(samples[i]!.map((s) => s.rate)),
  }));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(14)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ${
        r.rate.toFixed(0)
      } calls/s`,
    );
  }
  const [b, o] = results;
  console.log(
    `glue/bare: p50 ${(o!.p50 / b!.p50).toFixed(2)}x, p99 ${
      (o!.p99 / b!.p99).toFixed(2)
    }x, calls/s ${(o!.rate / b!.rate).toFixed(2)}x`,
  );
}
