/** learner: the PAG-RL coordinator (leases, trajectories, training, weight publishing). */
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import type { ServiceImpl } from "@parlmt/grpc";
import { runService } from "@parlmt/service";
import { LEARNER_CONFIG_SPEC } from "./config.ts";
import { handleDashboard } from "./dashboard.ts";
import { ScalarLog } from "./scalar_log.ts";
import { learnerService } from "./server.ts";

if (import.meta.main) {
  const code = await runService({
    name: "learner",
    spec: LEARNER_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server }) {
      const state = { step: 0n, weightsVersion: 0n };
      await Deno.mkdir(config.dataDir, { recursive: true });
      const scalars = await ScalarLog.open({ path: `${config.dataDir}/metrics.jsonl` });
      server.add(
        LearnerService,
        learnerService(config, state) as ServiceImpl<typeof LearnerService>,
      );
      return {
        http: (req) => handleDashboard(req, scalars, `PARL-MT learner (${config.arm})`),
        close: () => Promise.resolve(scalars.close()),
      };
    },
  });
  Deno.exit(code);
}
