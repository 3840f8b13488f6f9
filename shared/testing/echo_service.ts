/** An implementation of the test EchoService, used by the RPC contract test and bench:rpc. */
import { EchoService } from "@parlmt/gen/parlmt/testing/v1/echo_pb.ts";
import { type Code, RpcError, type ServiceImpl } from "@parlmt/grpc";

/** Sleeps `ms`, rejecting when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The EchoService handlers. */
export const echoImpl: ServiceImpl<typeof EchoService> = {
  async echo(req, ctx) {
    if (req.delayMs > 0) await sleep(req.delayMs, ctx.signal);
    if (req.failCode !== 0) {
      throw new RpcError(req.failCode as Code, `Failing as asked with code ${req.failCode}`);
    }
    return { text: req.text, payload: req.payload, metadata: { ...ctx.metadata } };
  },
  async *echoStream(req) {
    for (let index = 0; index < req.count; index++) yield { text: req.text, index };
    if (req.failCode !== 0) {
      throw new RpcError(req.failCode as Code, `Failing after ${req.count} messages`);
    }
  },
  async collect(reqs) {
    const texts: string[] = [];
    for await (const req of reqs) texts.push(req.text);
    return { text: texts.join(","), count: texts.length };
  },
  async *chat(reqs) {
    for await (const req of reqs) yield { text: `re: ${req.text}` };
  },
};

export { EchoService };
