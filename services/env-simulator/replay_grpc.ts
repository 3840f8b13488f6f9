/**
 * Ground-truth replay through a running env-simulator over gRPC: the same per-turn results and
 * states as the in-process replay, produced by CreateSession / Execute / GetState /
 * AdvanceTurn / Evaluate, so the two paths can be compared with the same oracle.
 * @module
 */
import { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import type { Client } from "@parlmt/grpc";
import type { BfclTask } from "./tasks.ts";

/** A replay's per-turn results and states, the checker's verdict and the calls executed. */
export interface GrpcReplay {
  turns: { results: string[]; stateJson: string }[];
  valid: boolean;
  steps: number;
}

/** Replays `task`'s ground truth in a fresh session (closed afterwards). */
export async function replayTaskOverGrpc(
  env: Client<typeof EnvService>,
  task: BfclTask,
): Promise<GrpcReplay> {
  const { sessionId } = await env.createSession({ source: { case: "taskId", value: task.id } });
  try {
    const turns: GrpcReplay["turns"] = [];
    let steps = 0;
    for (const [t, calls] of task.groundTruth.entries()) {
      let results: string[] = [];
      if (calls.length > 0) {
        const res = await env.execute({
          sessionId,
          calls: { case: "source", value: `[${calls.join(", ")}]` },
        });
        results = res.results.map((r) => r.output);
        steps += results.length;
      }
      const { stateJson } = await env.getState({ sessionId });
      turns.push({ results, stateJson });
      if (t < task.question.length) await env.advanceTurn({ sessionId });
    }
    const { result } = await env.evaluate({ sessionId });
    return { turns, valid: result?.success ?? false, steps };
  } finally {
    await env.closeSession({ sessionId });
  }
}
