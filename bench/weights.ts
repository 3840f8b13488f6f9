/**
 * `deno task bench:weights`: time to deliver a 10 MB and a 100 MB weights payload to 4
 * subscribers through the weights bus (object store put, announcement, fetch, SHA-256
 * verification), beside a plain loopback TCP copy of the same bytes to 4 receivers measured
 * in the same run. Everything runs in this process against a real nats-server.
 */
import { createServer, type Socket } from "node:net";
import { connect } from "node:net";
import { connectNats, type NatsConnection, subscribeWeights, WeightsPublisher } from "@parlmt/nats";
import { startNatsServer } from "@parlmt/stack";

const SUBSCRIBERS = 4;
const ROUNDS = 3;
const SIZES_MB = [10, 100];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function busDelivery(
  publisherConn: NatsConnection,
  subscriberConns: NatsConnection[],
  version: bigint,
  bytes: Uint8Array,
): Promise<number> {
  const publisher = await WeightsPublisher.open(publisherConn, { keep: 2 });
  const controller = new AbortController();
  const ready: Promise<void>[] = [];
  const received = subscriberConns.map((nc) => {
    let attached!: () => void;
    ready.push(new Promise((r) => (attached = r)));
    return (async () => {
      const updates = subscribeWeights(nc, {
        signal: controller.signal,
        afterVersion: version - 1n,
      });
      const first = updates.next();
      attached();
      const { value } = await first;
      await updates.return(undefined);
      if (!value || value.bytes.byteLength !== bytes.byteLength) throw new Error("bad delivery");
      return performance.now();
    })();
  });
  await Promise.all(ready);
  await new Promise((r) => setTimeout(r, 200)); // let the consumers attach
  const start = performance.now();
  await publisher.publish(version, bytes);
  const ends = await Promise.all(received);
  controller.abort();
  return Math.max(...ends) - start;
}

async function tcpCopy(bytes: Uint8Array): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const start = performance.now();
  const ends = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, () =>
      new Promise<number>((resolve, reject) => {
        let got = 0;
        const client = connect(port, "127.0.0.1");
        client.on("data", (chunk: Uint8Array) => (got += chunk.byteLength));
        client.on("end", () =>
          got === bytes.byteLength
            ? resolve(performance.now())
            : reject(new Error(`short read ${got}`)));
        client.on("error", reject);
      })),
  );
  await new Promise((r) => server.close(r));
  return Math.max(...ends) - start;
}

if (import.meta.main) {
  await using nats = await startNatsServer();
  const publisherConn = await connectNats(nats.url, { name: "bench-publisher" });
  const subscriberConns = await Promise.all(
    Array.from(
      { length: SUBSCRIBERS },
      (_, i) => connectNats(nats.url, { name: `bench-sub-${i}` }),
    ),
  );
  console.log(
    `Deliver one payload to ${SUBSCRIBERS} subscribers, median of ${ROUNDS} rounds (same process, loopback).`,
  );
  let version = 0n;
  for (const mb of SIZES_MB) {
    const bytes = new Uint8Array(mb * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    const bus: number[] = [];
    const tcp: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bus.push(await busDelivery(publisherConn, subscriberConns, ++version, bytes));
      tcp.push(await tcpCopy(bytes));
    }
    const b = median(bus), t = median(tcp);
    console.log(
      `${String(mb).padStart(4)} MB: weights bus ${b.toFixed(0)} ms (${
        (mb * SUBSCRIBERS / (b / 1000)).toFixed(0)
      } MB/s delivered)` +
        `, plain TCP copy ${t.toFixed(0)} ms, bus/tcp ${(b / t).toFixed(1)}x`,
    );
  }
  await Promise.all([publisherConn, ...subscriberConns].map((nc) => nc.close()));
}
