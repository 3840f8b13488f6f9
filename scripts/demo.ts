/**
 * `deno task demo`, the main job. Until the end-to-end PAG-RL run exists, it is the most
 * complete job the system has: it brings the local stack up (nats-server with JetStream and
 * every service), checks health and reflection on each service, broadcasts weights versions
 * over the NATS bus the way the learner will, waits until policy-inference has verified and
 * serves each one, and shuts everything down, printing what it measured.
 */
import { parseArgs } from "node:util";
import { Arm } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { LearnerService } from "@parlmt/gen/parlmt/v1/learner_pb.ts";
import { PolicyService } from "@parlmt/gen/parlmt/v1/policy_pb.ts";
import { createClient } from "@parlmt/grpc";
import { connectNats, WeightsPublisher } from "@parlmt/nats";
import {
  checkHealth,
  listServices,
  STACK_SERVICES,
  type StackService,
  startLocalStack,
} from "@parlmt/stack";

const USAGE = `Usage: deno task demo [--versions N] [--megabytes M]

  --versions N    weights versions to broadcast (default 3)
  --megabytes M   size of each weights payload in MB (default 10)`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function demo(versions: number, megabytes: number): Promise<number> {
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
      const bytes = new Uint8Array(megabytes * 1024 * 1024);
      for (let v = 1; v <= versions; v++) {
        for (let i = 0; i < bytes.length; i += 65536) {
          crypto.getRandomValues(bytes.subarray(i, i + 65536));
        }
        const start = performance.now();
        const a = await publisher.publish(BigInt(v), bytes, {
          config: JSON.stringify({ demo: true, v }),
        });
        let status = await policy.getPolicyStatus({});
        while (status.weightsVersion < BigInt(v)) {
          await new Promise((r) => setTimeout(r, 5));
          status = await policy.getPolicyStatus({});
        }
        const ms = performance.now() - start;
        latencies.push(ms);
        console.log(
          `   v${v}: sha256 ${a.sha256.slice(0, 12)}…, served by policy-inference after ${
            ms.toFixed(0)
          } ms (${status.lastSwap})`,
        );
      }
    } finally {
      policy.close();
      await nc.close();
    }

    const learner = createClient(LearnerService, stack.services.learner.address);
    try {
      const status = await learner.getLearnerStatus({});
      console.log(`4. Learner status: step ${status.step}, arm ${Arm[status.arm]}`);
    } finally {
      learner.close();
    }

    console.log("5. Stopping the stack (SIGTERM to every service)...");
    codes = await stack.stop();
    const clean = Object.values(codes).every((c) => c === 0);
    console.log(`   exit codes: ${JSON.stringify(codes)}`);
    console.log(
      `stack: 4/4 services healthy, weights: ${versions}/${versions} versions of ${megabytes} MB served (median publish-to-serve ${
        median(latencies).toFixed(0)
      } ms), shutdown: ${clean ? "clean" : "FAILED"}`,
    );
    return clean ? 0 : 1;
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
  Deno.exit(await demo(versions, megabytes));
}
