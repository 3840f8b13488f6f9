/** synthesis: the synthetic curriculum and PAG annotation over gRPC. */
import { SynthesisService } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { runService } from "@parlmt/service";
import { SYNTHESIS_CONFIG_SPEC } from "./config.ts";
import { synthesisService } from "./server.ts";

if (import.meta.main) {
  const code = await runService({
    name: "synthesis",
    spec: SYNTHESIS_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ config, server }) {
      server.add(SynthesisService, synthesisService(config));
      return Promise.resolve();
    },
  });
  Deno.exit(code);
}
