/** env-simulator: sessions of BFCL and τ-bench environments over gRPC. */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { runService } from "@parlmt/service";
import { ENV_CONFIG_SPEC } from "./config.ts";

if (import.meta.main) {
  const code = await runService({
    name: "env-simulator",
    spec: ENV_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ server }) {
      server.add(EnvService, {} as ServiceImpl<typeof EnvService>);
      return Promise.resolve();
    },
  });
  Deno.exit(code);
}
