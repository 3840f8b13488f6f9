/**
 * The local stack: `nats-server -js` plus every service as a child process, healthy before the
 * promise resolves, stopped together.
 */
import { type NatsServer, startNatsServer } from "./nats_server.ts";
import { waitServing } from "./health.ts";
import { type SpawnedService, spawnService } from "./spawn_service.ts";

/** The services of the stack and the gRPC service each one serves. */
export const STACK_SERVICES = {
  "env-simulator": "parlmt.v1.EnvService",
  "synthesis": "parlmt.v1.SynthesisService",
  "policy-inference": "parlmt.v1.PolicyService",
  "learner": "parlmt.v1.LearnerService",
} as const;

/** The services that connect to NATS (and so take `--nats-url`). */
const USES_NATS: ReadonlySet<string> = new Set(["policy-inference", "learner"]);

/** A service name of the stack. */
export type StackService = keyof typeof STACK_SERVICES;

/** Options of {@linkcode startLocalStack}. */
export interface LocalStackOptions {
  /** JetStream data, the learner's data and logs go under this folder. @default {a temporary folder, removed on stop} */
  dataDir?: string;
  /** NATS port. @default {a random free port} */
  natsPort?: number;
  /** Use each service's default ports instead of random ones. @default {false} */
  defaultPorts?: boolean;
  /** Write each service's JSON logs to `<dataDir>/logs/<name>.log`. @default {false} */
  logToFiles?: boolean;
  /** Extra flags per service. */
  args?: Partial<Record<StackService, string[]>>;
  /** Environment of every service. */
  env?: Record<string, string>;
}

/** A running local stack. */
export interface LocalStack {
  nats: NatsServer;
  services: Record<StackService, SpawnedService>;
  /** Stops the services (SIGTERM), then NATS; resolves with each service's exit code. */
  stop(): Promise<Record<StackService, number>>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts NATS and every service, waits until each reports SERVING over gRPC health. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { defaultPorts = false, logToFiles = false, args = {}, env = {} } = options;
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "parlmt-stack-" });
  await Deno.mkdir(`${dataDir}/logs`, { recursive: true });
  const nats = await startNatsServer({
    storeDir: `${dataDir}/jetstream`,
    keepStore: true,
    port: options.natsPort,
  });
  const removeTemporary = async () => {
    if (temporary) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  const names = Object.keys(STACK_SERVICES) as StackService[];
  const started: Partial<Record<StackService, SpawnedService>> = {};
  try {
    await Promise.all(names.map(async (name) => {
      started[name] = await spawnService(name, {
        args: [
          ...(USES_NATS.has(name) ? ["--nats-url", nats.url] : []),
          ...(name === "learner" ? ["--data-dir", `${dataDir}/learner`] : []),
          ...(args[name] ?? []),
        ],
        env,
        randomPorts: !defaultPorts,
        stderr: logToFiles ? { file: `${dataDir}/logs/${name}.log` } : "null",
      });
    }));
    await Promise.all(
      names.map((name) => waitServing(started[name]!.address, STACK_SERVICES[name])),
    );
  } catch (err) {
    await Promise.all(Object.values(started).map((s) => s.stop("SIGKILL")));
    await nats.stop();
    await removeTemporary();
    throw err;
  }
  const services = started as Record<StackService, SpawnedService>;
  const stop = async () => {
    const codes = {} as Record<StackService, number>;
    await Promise.all(names.map(async (name) => {
      codes[name] = await services[name].stop();
    }));
    await nats.stop();
    await removeTemporary();
    return codes;
  };
  return { nats, services, stop, [Symbol.asyncDispose]: async () => void (await stop()) };
}
