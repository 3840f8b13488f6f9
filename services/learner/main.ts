/** learner: the PAG-RL coordinator (leases, trajectories, training, weight publishing). */
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { runService } from "@parlmt/service";
import { LEARNER_CONFIG_SPEC } from "./config.ts";
import { Coordinator, listSource } from "./coordinator.ts";
import { handleDashboard } from "./dashboard.ts";
import { ScalarLog } from "./scalar_log.ts";
import { learnerService } from "./server.ts";
import { readTaskFile } from "./task_file.ts";
import { TrainingLoop } from "./training_loop.ts";
import type { AdvantageEstimator } from "./advantages.ts";
import { canonicalCall, rewardWeightsFor } from "./reward_config.ts";
import { connectNats, WeightsPublisher } from "@parlmt/nats";

if (import.meta.main) {
  const code = await runService({
    name: "learner",
    spec: LEARNER_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server, logger, signal }) {
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
      const nc = config.natsUrl && config.initModel
        ? await connectNats(config.natsUrl, { name: "learner" })
        : undefined;
      const loop = config.initModel
        ? await TrainingLoop.open(
          {
            dir: config.dataDir,
            initModel: await Deno.readFile(config.initModel),
            batchSize: config.trainBatchSize,
            seqLen: config.trainSeqLen,
            lr: config.lr,
            klCoef: config.klCoef,
            estimator: config.estimator as AdvantageEstimator,
            rewardWeights: rewardWeightsFor(config.arm),
            canonicalize: canonicalCall,
            filterZeroVariance: config.filterZeroVariance,
            turnLevelWeight: config.turnLevelWeight,
            padId: 0,
            groupsPerStep: config.groupsPerStep,
            publishEvery: config.publishEvery,
            checkpointEvery: config.checkpointEvery,
            canaryIds: [1, 2, 3, 4, 5, 6, 7, 8],
            publisher: nc ? await WeightsPublisher.open(nc) : undefined,
          },
          coordinator,
          scalars,
          logger,
        )
        : undefined;
      const training = loop?.run(signal).catch((err) =>
        logger.error("Training failed", { error: err })
      );
      server.add(
        LearnerService,
        learnerService(config, state, coordinator, () => BigInt(loop?.step ?? 0)),
      );
      return {
        http: (req) => handleDashboard(req, scalars, `PARL-MT learner (${config.arm})`),
        async close() {
          await training;
          await nc?.drain();
          scalars.close();
          coordinator.close();
        },
      };
    },
  });
  Deno.exit(code);
}
