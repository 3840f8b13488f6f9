/** BFCL ground-truth trajectories as annotation inputs. */
import { type BfclTask, HOLDOUT_MESSAGE } from "@parlmt/bfcl";
import type { TraceInput } from "./trace.ts";

/** The trace input of a BFCL task's ground truth (the holdout message at miss_func turns). */
export function bfclTraceInput(task: BfclTask): TraceInput {
  return {
    id: task.id,
    classes: task.involvedClasses,
    initialConfig: task.initialConfig,
    longContext: task.longContext,
    user: task.question.map((msgs, t) =>
      msgs.length === 0 && task.missedFunction.has(t)
        ? [HOLDOUT_MESSAGE]
        : msgs.map((m) => m.content)
    ),
    calls: task.groundTruth,
  };
}
