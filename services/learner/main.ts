/** learner: the PAG-RL coordinator (leases, trajectories, training, weight publishing). */
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { runService } from "@parlmt/service";
import { bucketLengths, LEARNER_CONFIG_SPEC } from "./config.ts";
import { Coordinator, listSource } from "./coordinator.ts";
import { handleDashboard } from "./dashboard.ts";
import { ScalarLog } from "./scalar_log.ts";
import { learnerService } from "./server.ts";
import { readTaskFile } from "./task_file.ts";
import { TrainingLoop } from "./training_loop.ts";
import type { AdvantageEstimator } from "./advantages.ts";
import type { AdvantageWeighting } from "./rl_step.ts";
import { canonicalCall, rewardWeightsFor, withRewardOverrides } from "./reward_config.ts";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { BpeTokenizer, TurnTemplate } from "@parlmt/tokenizer";
import { encodeExample, loadSftData } from "./sft_data.ts";

/** The `sft` arm's rows: the SFT data's train split encoded, those that fit `seqLen`. */
async function loadSftRows(dir: string, tokenizerFile: string, seqLen: number) {
  if (!dir || !tokenizerFile) {
    throw new RangeError("Arm sft needs --sft-data DIR and --tokenizer FILE");
  }
  const data = await loadSftData(dir);
  const template = new TurnTemplate(
    BpeTokenizer.fromJSON(JSON.parse(await Deno.readTextFile(tokenizerFile))),
  );
  const rows = data.train.map((e) => encodeExample(template, e))
    .filter((r) => r.inputIds.length <= seqLen);
  if (rows.length === 0) {
    throw new RangeError(`Arm sft: no sample of "${dir}" fits --train-seq-len ${seqLen}`);
  }
  return rows;
}

if (import.meta.main) {
  const code = await runService({
    name: "learner",
    spec: LEARNER_CONFIG_SPEC,
    args: Deno.args,
    env: Deno.env.toObject(),
    async setup({ config, server, logger, signal }) {
      // Checked first: a bad override stops the learner before it touches any state.
      const rewardWeights = withRewardOverrides(rewardWeightsFor(config.arm), config.rewardWeights);
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
      const sft = config.initModel && config.arm === "sft"
        ? { rows: await loadSftRows(config.sftData, config.tokenizer, config.trainSeqLen) }
        : undefined;
      if (sft) logger.info("Arm sft: supervised rows loaded", { rows: sft.rows.length });
      const loop = config.initModel
        ? await TrainingLoop.open(
          {
            dir: config.dataDir,
            initModel: await Deno.readFile(config.initModel),
            batchSize: config.trainBatchSize,
            seqLen: config.trainSeqLen,
            bucketLengths: bucketLengths(config.trainBuckets, config.trainSeqLen),
            lr: config.lr,
            klCoef: config.klCoef,
            estimator: config.estimator as AdvantageEstimator,
            rewardWeights,
            canonicalize: canonicalCall,
            filterZeroVariance: config.filterZeroVariance,
            turnLevelWeight: config.turnLevelWeight,
            advantageWeighting: config.advantageWeighting as AdvantageWeighting,
            padId: 0,
            groupsPerStep: config.groupsPerStep,
            updateEpochs: config.updateEpochs,
            averageDecay: config.emaDecay,
            publishEvery: config.publishEvery,
            checkpointEvery: config.checkpointEvery,
            canaryIds: [1, 2, 3, 4, 5, 6, 7, 8],
            seed: config.seed,
            sft,
            publisher: nc ? await WeightsPublisher.open(nc) : undefined,
          },
          coordinator,
          scalars,
          logger,
        )
        : undefined;
      const training = loop?.run(signal).catch((err) => {
        // A learner that cannot train must not go on accepting rollouts: stop with an error
        // so a supervisor restarts it (it resumes from its checkpoint, nothing is lost).
        logger.error("Training failed; shutting down", { error: err });
        Deno.exitCode = 1;
        Deno.kill(Deno.pid, "SIGTERM");
      });
      server.add(
        LearnerService,
        learnerService(config, state, coordinator, () => BigInt(loop?.step ?? 0), loop),
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
