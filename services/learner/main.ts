/** learner: the PAG-RL coordinator (leases, trajectories, training, weight publishing). */
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { runService } from "@parlmt/service";
import { LEARNER_CONFIG_SPEC } from "./config.ts";
import { learnerService } from "./server.ts";

if (import.meta.main) {
  const code = await runService({
    name: "learner",
    spec: LEARNER_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    setup({ config, server }) {
      const state = { step: 0n, weightsVersion: 0n };
      server.add(
        LearnerService,
        learnerService(config, state) as ServiceImpl<typeof LearnerService>,
      );
      return Promise.resolve();
    },
  });
  Deno.exit(code);
}
