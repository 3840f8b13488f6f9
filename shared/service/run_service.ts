/**
 * The skeleton every service shares: typed config, JSON logs, a gRPC server with health,
 * reflection and interceptors, an admin HTTP port (`/metrics`, `/healthz`), a machine-readable
 * ready line on stdout, and graceful shutdown on SIGTERM/SIGINT.
 */
import { type ConfigOf, type ConfigSpec, HelpRequested, parseConfig } from "@parlmt/config";
import { bearerAuth, type Interceptor, logging, metrics, RpcServer } from "@parlmt/grpc";
import { Logger, type LogLevel, Metrics } from "@parlmt/log";

/** Fields every service has; `port` and `adminPort` defaults differ per service. */
export function commonFields(defaults: { port: number; adminPort: number }) {
  return {
    host: { type: "string", default: "127.0.0.1", doc: "Address the gRPC server binds" },
    port: {
      type: "integer",
      default: defaults.port,
      doc: "gRPC port (0 picks a free one)",
      min: 0,
      max: 65535,
    },
    adminPort: {
      type: "integer",
      default: defaults.adminPort,
      doc: "HTTP port of /metrics and /healthz (0 picks a free one)",
      min: 0,
      max: 65535,
    },
    logLevel: {
      type: "string",
      default: "info",
      doc: "Lowest level logged",
      choices: ["debug", "info", "warn", "error"],
    },
    authToken: {
      type: "string",
      default: "",
      doc: "Require `authorization: Bearer <token>` on every RPC (empty: no auth)",
    },
    maxMessageBytes: {
      type: "integer",
      default: 16 * 1024 * 1024,
      doc: "Largest gRPC message accepted or sent",
      min: 1024,
    },
    shutdownGraceMs: {
      type: "integer",
      default: 10_000,
      doc: "How long in-flight calls may finish on SIGTERM",
      min: 0,
    },
  } as const satisfies ConfigSpec;
}

/** What a service's setup receives. */
export interface ServiceContext<C> {
  config: C;
  server: RpcServer;
  logger: Logger;
  metrics: Metrics;
  /** Aborts when shutdown begins: pass it to every loop and outgoing call. */
  signal: AbortSignal;
}

/** What a service's setup returns. */
export interface ServiceHooks {
  /** Runs after the gRPC server stopped: drain connections, flush state. */
  close?(): Promise<void>;
  /** When this settles the service shuts down as on SIGTERM (a worker that finished its work). */
  done?: Promise<unknown>;
  /** Extra routes on the admin HTTP port (e.g. a dashboard); `undefined` falls through to 404. */
  http?(req: Request): Promise<Response | undefined> | Response | undefined;
}

/** Options of {@linkcode runService}. */
export interface RunServiceOptions<S extends ConfigSpec> {
  name: string;
  spec: S;
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  setup(ctx: ServiceContext<ConfigOf<S> & CommonConfig>): Promise<ServiceHooks | void>;
}

/** The resolved common fields. */
export type CommonConfig = ConfigOf<ReturnType<typeof commonFields>>;

const ENCODER = new TextEncoder();

/**
 * Runs a service until SIGTERM or SIGINT, then shuts it down gracefully (a second signal
 * forces the exit). Resolves with the process exit code.
 */
export async function runService<S extends ConfigSpec>(
  options: RunServiceOptions<S>,
): Promise<number> {
  const { name, spec, args, env, setup } = options;
  let config: ConfigOf<S> & CommonConfig;
  try {
    config = parseConfig(name, spec, args, env) as ConfigOf<S> & CommonConfig;
  } catch (err) {
    if (err instanceof HelpRequested) {
      Deno.stdout.writeSync(ENCODER.encode(err.message + "\n"));
      return 0;
    }
    Deno.stderr.writeSync(ENCODER.encode(`${name}: ${(err as Error).message}\n`));
    return 2;
  }
  const logger = new Logger({ service: name, level: config.logLevel as LogLevel });
  logger.info("Starting", { config: { ...config, authToken: config.authToken ? "***" : "" } });
  const registry = new Metrics(name);
  const interceptors: Interceptor[] = [logging(logger), metrics(registry)];
  if (config.authToken) interceptors.push(bearerAuth(config.authToken));
  const server = new RpcServer({ maxMessageBytes: config.maxMessageBytes, interceptors });
  const lifetime = new AbortController();

  let hooks: ServiceHooks | void;
  let port: number;
  try {
    hooks = await setup({ config, server, logger, metrics: registry, signal: lifetime.signal });
    port = await server.listen(config.host, config.port);
  } catch (err) {
    logger.error("Cannot start", { error: err });
    lifetime.abort();
    return 1;
  }

  let serving = true;
  const admin = Deno.serve({
    hostname: config.host,
    port: config.adminPort,
    onListen: () => {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(await registry.text(), {
        headers: { "content-type": registry.registry.contentType },
      });
    }
    if (path === "/healthz" || path === "/readyz") {
      return new Response(serving ? "ok\n" : "shutting down\n", { status: serving ? 200 : 503 });
    }
    const extra = await hooks?.http?.(req);
    if (extra) return extra;
    return new Response(`Unknown path "${path}"\n`, { status: 404 });
  });

  const ready = { ready: true, service: name, port, adminPort: admin.addr.port };
  Deno.stdout.writeSync(ENCODER.encode(JSON.stringify(ready) + "\n"));
  logger.info("Serving", { port, adminPort: admin.addr.port, host: config.host });

  const stopped = Promise.withResolvers<string>();
  const onSignal = (signal: Deno.Signal) => () => {
    if (!serving) {
      logger.warn("Second signal: forcing exit", { signal });
      Deno.exit(1);
    }
    stopped.resolve(signal);
  };
  const handlers = (["SIGTERM", "SIGINT"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);

  hooks?.done?.then(() => stopped.resolve("done"), () => stopped.resolve("done"));
  const signal = await stopped.promise;
  serving = false;
  logger.info("Shutting down", { signal, graceMs: config.shutdownGraceMs });
  lifetime.abort(new DOMException("Service shutting down", "AbortError"));
  await server.shutdown(config.shutdownGraceMs);
  try {
    await hooks?.close?.();
  } catch (err) {
    logger.error("Error while closing", { error: err });
  }
  await admin.shutdown();
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  logger.info("Stopped");
  return 0;
}
