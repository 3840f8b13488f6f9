/**
 * An echo gRPC server (the project's glue: protobuf-es messages, logging and metrics
 * interceptors) in a process of its own, for `bench:policy`'s transport floor: it answers each
 * `Echo` after the request's `delay_ms`, doing nothing else, so the CPU it and its clients use
 * is what the RPC path alone costs at a given call rate. Prints `{"port":N}` once it listens.
 */
import { logging, metrics, RpcServer } from "@parlmt/grpc";
import { Logger, Metrics } from "@parlmt/log";
import { echoImpl, EchoService } from "@parlmt/testing";

const server = new RpcServer({
  interceptors: [
    logging(new Logger({ service: "bench-echo", level: "warn" })),
    metrics(new Metrics("bench_echo")),
  ],
});
server.add(EchoService, echoImpl);
const port = await server.listen();
console.log(JSON.stringify({ port }));
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown(1000);
  Deno.exit(0);
});
