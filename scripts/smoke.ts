/**
 * `deno task smoke`: a quick check of a local stack (a minute, not the main job's quarter hour):
 * it brings the stack up (nats-server with JetStream and every service), checks health and
 * reflection on each service, broadcasts weights versions over the NATS bus the way the learner
 * does, waits until policy-inference has verified and serves each one, replays BFCL tasks
 * through the env-simulator, and shuts everything down, printing what it measured.
 */
import { parseArgs } from "node:util";
import { Arm } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { encodeWeights, initWeights, modelConfig, paramCount } from "@parlmt/model";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import {
  checkHealth,
  listServices,
  STACK_SERVICES,
  type StackService,
  startLocalStack,
} from "@parlmt/stack";
import { replayTaskOverGrpc } from "../services/env-simulator/replay_grpc.ts";
import { BFCL_CATEGORIES, listTasks } from "../services/env-simulator/mod.ts";
import { canaryMeta } from "../services/policy-inference/weights_swap.ts";

const USAGE = `Usage: deno task smoke [--versions N] [--megabytes M] [--tasks K]

  --versions N    weights versions to broadcast (default 3)
  --megabytes M   size of each weights payload in MB (default 10)
  --tasks K       BFCL tasks per category replayed through the env-simulator (default 25)`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function demo(
  versions: number,
  megabytes: number,
  tasksPerCategory: number,
): Promise<number> {
  const t0 = performance.now();
  const dataDir = ".local/demo";
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  console.log("1. Bringing the local stack up (nats-server -js + 4 services)...");
  const stack = await startLocalStack({ dataDir, logToFiles: true });
  console.log(`   healthy in ${Math.round(performance.now() - t0)} ms; logs in ${dataDir}/logs`);
  let codes: Record<string, number> | undefined;
  try {
    console.log("2. Health and reflection on every service:");
    for (const name of Object.keys(STACK_SERVICES) as StackService[]) {
      const svc = stack.services[name];
      const health = await checkHealth(svc.address, STACK_SERVICES[name]);
      const listed = await listServices(svc.address);
      console.log(
        `   ${name.padEnd(17)} ${svc.address.padEnd(16)} ${health.padEnd(8)} ${listed.join(", ")}`,
      );
    }

    console.log(`3. Broadcasting ${versions} weights versions of ${megabytes} MB over NATS...`);
    const nc = await connectNats(stack.nats.url, { name: "demo-learner" });
    const policy = createClient(PolicyService, stack.services["policy-inference"].address);
    const latencies: number[] = [];
    try {
      const publisher = await WeightsPublisher.open(nc);
      // A decoder of about `megabytes` MB: the vocabulary takes the size not in the blocks.
      const base = { nLayer: 2, nHead: 4, nEmbd: 128, nFf: 512, blockSize: 256 };
      const blocks = paramCount(modelConfig({ ...base, vocabSize: 1 }));
      const vocabSize = Math.max(64, Math.round((megabytes * 262_144 - blocks) / 256));
      const config = modelConfig({ ...base, vocabSize });
      const canaryIds = [1, 2, 3, 4, 5, 6, 7, 8];
      for (let v = 1; v <= versions; v++) {
        const weights = initWeights(config, v);
        const bytes = encodeWeights(config, weights, v);
        const meta = await canaryMeta(config, weights, canaryIds);
        const start = performance.now();
        const a = await publisher.publish(BigInt(v), bytes, meta);
        let status = await policy.getPolicyStatus({});
        while (status.weightsVersion < BigInt(v) && /^(ok|none)$/.test(status.lastSwap)) {
          await new Promise((r) => setTimeout(r, 5));
          status = await policy.getPolicyStatus({});
        }
        if (status.weightsVersion < BigInt(v)) {
          throw new Error(`Weights v${v} refused by policy-inference: ${status.lastSwap}`);
        }
        const ms = performance.now() - start;
        latencies.push(ms);
        console.log(
          `   v${v}: ${(bytes.byteLength / 1e6).toFixed(1)} MB, sha256 ${
            a.sha256.slice(0, 12)
          }…, verified, canary checked and served by policy-inference after ${
            ms.toFixed(0)
          } ms (${status.lastSwap})`,
        );
      }
    } finally {
      policy.close();
      await nc.close();
    }

    console.log(
      `4. Replaying the BFCL ground truth of ${tasksPerCategory} tasks per category through the env-simulator (gRPC)...`,
    );
    const env = createClient(EnvService, stack.services["env-simulator"].address);
    let passed = 0, total = 0, steps = 0;
    const replayStart = performance.now();
    try {
      for (const category of BFCL_CATEGORIES) {
        let ok = 0;
        const tasks = listTasks(category).slice(0, tasksPerCategory);
        for (const task of tasks) {
          const r = await replayTaskOverGrpc(env, task);
          if (r.valid) ok++;
          steps += r.steps;
        }
        passed += ok;
        total += tasks.length;
        console.log(`   ${category.padEnd(24)} checker passed ${ok}/${tasks.length}`);
      }
    } finally {
      env.close();
    }
    const replaySeconds = (performance.now() - replayStart) / 1000;
    console.log(`   ${steps} calls executed in ${replaySeconds.toFixed(1)} s`);

    const learner = createClient(LearnerService, stack.services.learner.address);
    try {
      const status = await learner.getLearnerStatus({});
      console.log(
        `5. Learner status: step ${status.step}, arm ${
          Arm[status.arm]
        }; dashboard at http://127.0.0.1:${stack.services.learner.adminPort}/dashboard`,
      );
    } finally {
      learner.close();
    }

    console.log("6. Stopping the stack (SIGTERM to every service)...");
    codes = await stack.stop();
    const clean = Object.values(codes).every((c) => c === 0);
    console.log(`   exit codes: ${JSON.stringify(codes)}`);
    console.log(
      `stack: 4/4 services healthy, weights: ${versions}/${versions} versions of ${megabytes} MB served (median publish-to-serve ${
        median(latencies).toFixed(0)
      } ms), bfcl over grpc: ${passed}/${total} ground truths pass the checker, shutdown: ${
        clean ? "clean" : "FAILED"
      }`,
    );
    return clean && passed === total ? 0 : 1;
  } finally {
    if (!codes) await stack.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      versions: { type: "string", default: "3" },
      megabytes: { type: "string", default: "10" },
      tasks: { type: "string", default: "25" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const versions = Number(values.versions);
  const megabytes = Number(values.megabytes);
  if (!Number.isInteger(versions) || versions < 1 || versions > 100) {
    console.error(`demo: invalid value "${values.versions}" for --versions (1..100)`);
    Deno.exit(2);
  }
  if (!Number.isInteger(megabytes) || megabytes < 1 || megabytes > 1024) {
    console.error(`demo: invalid value "${values.megabytes}" for --megabytes (1..1024)`);
    Deno.exit(2);
  }
  const tasks = Number(values.tasks);
  if (!Number.isInteger(tasks) || tasks < 0 || tasks > 200) {
    console.error(`demo: invalid value "${values.tasks}" for --tasks (0..200)`);
    Deno.exit(2);
  }
  Deno.exit(await demo(versions, megabytes, tasks));
}
