/** synthesis: the synthetic curriculum and PAG annotation. Its RPCs arrive with the synthesis issue. */
import { SynthesisService } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { runService } from "@parlmt/service";
import { SYNTHESIS_CONFIG_SPEC } from "./config.ts";

if (import.meta.main) {
  const code = await runService({
    name: "synthesis",
    spec: SYNTHESIS_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ server }) {
      // No handler yet: every method answers UNIMPLEMENTED, health and reflection work.
      server.add(SynthesisService, {} as ServiceImpl<typeof SynthesisService>);
      return Promise.resolve();
    },
  });
  Deno.exit(code);
}
