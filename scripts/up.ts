/**
 * `deno task up`: starts nats-server (JetStream data under .local/stack) and every service on
 * its default port, waits until all are healthy, prints the endpoints, and stops them all on
 * Ctrl-C or SIGTERM.
 */
import { parseArgs } from "node:util";
import { STACK_SERVICES, type StackService, startLocalStack } from "@parlmt/stack";

const USAGE = `Usage: deno task up [--data-dir DIR] [--nats-port N] [--random-ports]

  --data-dir DIR    JetStream data and service logs (default .local/stack)
  --nats-port N     NATS port (default 4222)
  --random-ports    free random ports instead of each service's default`;

function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "data-dir": { type: "string", default: ".local/stack" },
      "nats-port": { type: "string", default: "4222" },
      "random-ports": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return Promise.resolve(0);
  }
  const natsPort = Number(values["nats-port"]);
  if (!Number.isInteger(natsPort) || natsPort < 1 || natsPort > 65535) {
    throw new RangeError(`Invalid value "${values["nats-port"]}" for --nats-port`);
  }
  return up(values["data-dir"]!, natsPort, !values["random-ports"]);
}

async function up(dataDir: string, natsPort: number, defaultPorts: boolean): Promise<number> {
  const started = performance.now();
  const stack = await startLocalStack({ dataDir, natsPort, defaultPorts, logToFiles: true });
  const ms = Math.round(performance.now() - started);
  console.log(`Local stack healthy in ${ms} ms (logs in ${dataDir}/logs):`);
  console.log(`  nats-server        ${stack.nats.url} (JetStream in ${stack.nats.storeDir})`);
  for (const name of Object.keys(STACK_SERVICES) as StackService[]) {
    const svc = stack.services[name];
    console.log(
      `  ${name.padEnd(18)} grpc ${svc.address}  metrics http://127.0.0.1:${svc.adminPort}/metrics`,
    );
  }
  console.log("Press Ctrl-C to stop.");
  const signal = await new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => resolve(s));
  });
  console.log(`\n${signal}: stopping`);
  const codes = await stack.stop();
  const failed = Object.entries(codes).filter(([, code]) => code !== 0);
  console.log(
    failed.length === 0 ? "All services stopped cleanly." : `Exit codes: ${JSON.stringify(codes)}`,
  );
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(`up: ${(err as Error).message}`);
    Deno.exit(2);
  }
}
