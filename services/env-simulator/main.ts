/** env-simulator: sessions of BFCL and τ-bench environments over gRPC. */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { runService } from "@parlmt/service";
import { ENV_CONFIG_SPEC } from "./config.ts";
import { SessionStore } from "./mod.ts";
import { envErrorMapper, envService, type EnvSession } from "./server.ts";

if (import.meta.main) {
  const code = await runService({
    name: "env-simulator",
    spec: ENV_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ config, server }) {
      const store = new SessionStore<EnvSession>({
        ttlMs: config.sessionTtlMs,
        maxSessions: config.maxSessions,
      });
      server.add(EnvService, envService(store, config), { errorMapper: envErrorMapper });
      return Promise.resolve();
    },
  });
  Deno.exit(code);
}
