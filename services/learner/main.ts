/** learner: the PAG-RL coordinator (leases, trajectories, training, weight publishing). */
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { runService } from "@parlmt/service";
import { LEARNER_CONFIG_SPEC } from "./config.ts";
import { Coordinator, listSource } from "./coordinator.ts";
import { handleDashboard } from "./dashboard.ts";
import { ScalarLog } from "./scalar_log.ts";
import { learnerService } from "./server.ts";
import { readTaskFile } from "./task_file.ts";

if (import.meta.main) {
  const code = await runService({
    name: "learner",
    spec: LEARNER_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server, logger }) {
      await Deno.mkdir(config.dataDir, { recursive: true });
      const tasks = config.tasksFile ? await readTaskFile(config.tasksFile) : [];
      const coordinator = await Coordinator.open({
        dir: config.dataDir,
        source: listSource(tasks, config.epochs || Infinity),
        groupSize: config.groupSize,
        leaseTtlMs: config.leaseTtlMs,
        maxStaleness: config.maxStaleness,
      });
      logger.info("Coordinator ready", {
        tasks: tasks.length,
        storedTrajectories: coordinator.stored,
        bufferedTrajectories: coordinator.buffered,
      });
      const scalars = await ScalarLog.open({ path: `${config.dataDir}/metrics.jsonl` });
      const state = { step: 0n, scalars: scalars.latest() };
      server.add(LearnerService, learnerService(config, state, coordinator));
      return {
        http: (req) => handleDashboard(req, scalars, `PARL-MT learner (${config.arm})`),
        close: () => {
          scalars.close();
          coordinator.close();
          return Promise.resolve();
        },
      };
    },
  });
  Deno.exit(code);
}
