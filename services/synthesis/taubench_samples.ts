/**
 * SFT samples of annotated τ-bench gold trajectories, in both context modes as sft_samples.ts
 * makes them for BFCL: `full` (the whole transcript before the step) and `progress` (the latest
 * progress block and the messages since it). The domain policy is the system message of every
 * sample (the rollout actor keeps it in both modes); the user message is the task instruction, as
 * the env-simulator's GetTask gives it.
 * @module
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { compactToolDoc } from "@parlmt/tokenizer";
import { Benchmark, Role, type Task, TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { type AnnotateResponseSchema, type SftSample } from "@parlmt/gen/parlmt/v1/synthesis_pb.ts";
import { type Domain, loadToolsInfo, loadWiki } from "../env-simulator/taubench/mod.ts";
import {
  buildSamples,
  type ContextModeName,
  type PlainMessage,
  type PlainSample,
  type PlainTool,
} from "./sft_samples.ts";
import { annotateResponse, sampleToProto } from "./to_proto.ts";
import { annotateTauById, type TauAnnotation } from "./taubench_annotate.ts";

/** One chat message of a τ-bench sample (the BFCL sample's message, with a system role). */
export type TauMessage = PlainMessage;

/** One τ-bench sample (the proto's SftSample, plain; `split` is `test`, `train` or `dev`). */
export type TauSample = PlainSample;

/** Options of {@linkcode tauTaskSamples}. */
export interface TauSampleOptions {
  /** @default {["full", "progress"]} */
  readonly modes?: readonly ContextModeName[];
  /** Put the domain policy (wiki) first as the system message. @default {true} */
  readonly policy?: boolean;
}

const TOOLS = new Map<Domain, PlainTool[]>();

/** The compact tools of a domain (first sentence of each description, argument types only). */
export function tauTools(domain: Domain): PlainTool[] {
  let tools = TOOLS.get(domain);
  if (tools === undefined) {
    tools = loadToolsInfo(domain).map((info) => {
      const fn = (info as {
        function: { name: string; description?: string; parameters?: Record<string, unknown> };
      }).function;
      const doc = {
        name: fn.name,
        description: fn.description ?? "",
        parameters: fn.parameters ?? {},
      };
      return { ...compactToolDoc(doc), className: domain };
    });
    TOOLS.set(domain, tools);
  }
  return tools;
}

/** The samples of one annotated τ-bench task (one turn: the instruction, then every gold step). */
export function tauTaskSamples(ann: TauAnnotation, opts: TauSampleOptions = {}): TauSample[] {
  const { trace } = ann;
  const tools = tauTools(trace.domain);
  return buildSamples({
    id: trace.id,
    split: trace.split,
    steps: ann.steps,
    system: opts.policy === false ? [] : [{ role: "system", content: loadWiki(trace.domain) }],
    userMessages: (turn) => (turn === 0 ? trace.user : []),
    tools: () => tools,
  }, opts.modes ?? ["full", "progress"]);
}

/** A τ-bench sample as an SftSample message (the same conversion as for BFCL samples). */
export const tauSampleToProto: (s: TauSample) => SftSample = sampleToProto;

/** The annotated task as a Task message (the env-simulator's GetTask shape). */
export function tauTaskToProto(ann: TauAnnotation): Task {
  const { trace } = ann;
  return create(TaskSchema, {
    id: trace.id,
    benchmark: Benchmark.TAUBENCH,
    category: trace.domain,
    involvedClasses: [trace.domain],
    turns: [{
      userMessages: trace.user.map((content) => ({ role: Role.USER, content })),
      groundTruthCalls: trace.steps.map((s) => s.call),
    }],
    split: trace.split,
    sourceJson: JSON.stringify({
      user_id: trace.task.userId,
      instruction: trace.task.instruction,
      outputs: trace.task.outputs,
    }),
  });
}

/**
 * The Annotate RPC's answer for a τ-bench task (`benchmark` TAUBENCH, id
 * `taubench_<domain>_<split>_<index>`): the annotated steps with their verdicts, in the shape
 * server.ts builds for BFCL. Throws RangeError for an unknown id (answer INVALID_ARGUMENT).
 */
export function tauAnnotateResponse(
  taskId: string,
): MessageInitShape<typeof AnnotateResponseSchema> {
  const { annotation, verification } = annotateTauById(taskId);
  return annotateResponse(annotation.steps, verification.verdicts, null);
}
