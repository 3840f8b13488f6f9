/**
 * The processes a rollout needs, for integration tests: a curriculum task file, a tiny model and
 * its tokenizer, nats-server, the env-simulator and policy-inference. The learner and actors are
 * started by each test, since that is what the tests vary.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { type Task, TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import { type NatsServer, type SpawnedService, spawnService, startNatsServer } from "@parlmt/stack";
import { canaryMeta } from "@parlmt/model";
import { type TestModel, testModel } from "../services/policy-inference/_test_model.ts";
import { DEFAULT_GEN_OPTIONS, generateTask } from "../services/synthesis/generate_tasks.ts";
import { taskToProto } from "../services/synthesis/to_proto.ts";

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running rig; disposing it stops every process and removes its folder. */
export interface RolloutRig {
  dir: string;
  tasks: Task[];
  tasksFile: string;
  model: TestModel;
  nats: NatsServer;
  env: SpawnedService;
  policy: SpawnedService;
  /** Publishes the rig model's weights as `version` (with its canary) on the bus. */
  publish(version: number): Promise<void>;
  /** Learner flags for this rig (NATS, data dir, task file, group size, default 2), then `extra`. */
  learnerArgs(extra?: string[], groupSize?: number): string[];
  /**
   * Learner flags that train: the rig model as the starting weights (written to the rig folder),
   * batches of 4 × 1536 tokens, `lr`, a checkpoint every `checkpointEvery` updates.
   */
  trainingArgs(lr: number, checkpointEvery: number): Promise<string[]>;
  /** Actor flags for this rig's env and policy and the learner at `learner`, then `extra`. */
  actorArgs(learner: string, id: string, extra?: string[]): string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a rig over `count` MessageAPI curriculum tasks of `minTurns..maxTurns` turns. */
export async function startRolloutRig(
  seed: number,
  count: number,
  turns: { minTurns: number; maxTurns: number },
): Promise<RolloutRig> {
  const dir = await Deno.makeTempDir({ prefix: "parlmt-rig-" });
  const tasks = Array.from(
    { length: count },
    (_, i) =>
      taskToProto(
        generateTask(seed, i, "train", {
          ...DEFAULT_GEN_OPTIONS,
          classes: ["MessageAPI"],
          ...turns,
        }),
      ),
  );
  const tasksFile = `${dir}/tasks.jsonl`;
  await Deno.writeTextFile(tasksFile, tasks.map((t) => toJsonString(TaskSchema, t)).join("\n"));
  // A 2k context: MessageAPI's compact tool list and a turn fit.
  const model = testModel(5, { blockSize: 2048, nLayer: 1 });
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(model.tokenizer.toJSON()));
  const started: { [Symbol.asyncDispose](): Promise<void> }[] = [];
  try {
    const nats = await startNatsServer();
    started.push(nats);
    const env = await spawnService("env-simulator");
    started.push(env);
    const policy = await spawnService("policy-inference", {
      args: ["--nats-url", nats.url, "--tokenizer", `${dir}/tokenizer.json`],
      stderr: { file: `${dir}/policy.log` },
    });
    started.push(policy);
    return {
      dir,
      tasks,
      tasksFile,
      model,
      nats,
      env,
      policy,
      async publish(version) {
        const nc = await connectNats(nats.url);
        try {
          const publisher = await WeightsPublisher.open(nc);
          const meta = await canaryMeta(model.config, model.weights, [1, 2, 3, 4]);
          await publisher.publish(BigInt(version), model.blob(version), meta);
        } finally {
          await nc.close();
        }
      },
      learnerArgs: (extra = [], groupSize = 2) => [
        "--nats-url",
        nats.url,
        "--data-dir",
        `${dir}/learner`,
        "--tasks-file",
        tasksFile,
        "--group-size",
        String(groupSize),
        ...extra,
      ],
      async trainingArgs(lr, checkpointEvery) {
        await Deno.writeFile(`${dir}/init.safetensors`, model.blob(0));
        return [
          "--init-model",
          `${dir}/init.safetensors`,
          "--train-batch-size",
          "4",
          "--train-seq-len",
          "1536",
          "--lr",
          String(lr),
          "--checkpoint-every",
          String(checkpointEvery),
        ];
      },
      actorArgs: (learner, id, extra = []) => [
        "--learner-address",
        learner,
        "--env-address",
        env.address,
        "--policy-address",
        policy.address,
        "--actor-id",
        id,
        ...extra,
      ],
      async [Symbol.asyncDispose]() {
        for (const p of started.reverse()) await p[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    for (const p of started.reverse()) await p[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}
