/**
 * Train/rollout parity: the prompt the rollout actor builds for a step (its context window and
 * the tools the env-simulator lists, in the actor's doc style) must render to exactly the text
 * of the SFT sample synthesis wrote for that step, in both context modes. Any drift here means
 * RL would start from a policy that never saw its own prompts.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ContextMode, FunctionDocSchema, Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { createEpisode, HOLDOUT_MESSAGE } from "@parlmt/bfcl";
import { parseAssistantText, type ToolDocStyle, TurnTemplate } from "@parlmt/tokenizer";
import { buildContext, type TranscriptMessage } from "../services/rollout-actor/context.ts";
import { toolsForPolicy } from "../services/rollout-actor/episode.ts";
import { annotate } from "../services/synthesis/annotate.ts";
import { synthReply, synthTraceInput } from "../services/synthesis/dataset.ts";
import {
  DEFAULT_GEN_OPTIONS,
  generateTask,
  toInlineTask,
} from "../services/synthesis/generate_tasks.ts";
import { taskSamples } from "../services/synthesis/sft_samples.ts";

const ROLE_NAME = {
  [Role.SYSTEM]: "system",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
} as const;

function checkParity(style: ToolDocStyle, offeredTools: number, seeds: number): number {
  let compared = 0;
  for (let i = 0; i < seeds; i++) {
    const task = generateTask(3, i, i % 3 === 0 ? "test" : "train", {
      ...DEFAULT_GEN_OPTIONS,
      missFuncRate: 0.3,
      missParamRate: 0.2,
      offeredTools,
    });
    const annotation = annotate(synthTraceInput(task), { noCallReply: synthReply(task) });
    const samples = new Map(
      taskSamples(task, annotation, ["full", "progress"], style).map((s) => [s.id, s]),
    );
    const episode = createEpisode(toInlineTask(task));
    const transcript: TranscriptMessage[] = [];
    let turn = -1;
    for (const step of annotation.steps) {
      if (step.turn !== turn) {
        turn = step.turn;
        const user = task.turns[turn]!.user;
        for (const content of user.length > 0 ? user : [HOLDOUT_MESSAGE]) {
          transcript.push({ role: "user", content });
        }
      }
      const tools = toolsForPolicy(
        episode.tools(turn).map((d) =>
          create(FunctionDocSchema, {
            name: d.name,
            description: d.description,
            parametersJson: JSON.stringify(d.parameters),
          })
        ),
        style,
      ).map((t) => ({
        name: t.name,
        description: t.description,
        parameters: JSON.parse(t.parametersJson),
      }));
      for (const [mode, cm] of [["full", ContextMode.FULL], ["progress", ContextMode.PROGRESS]]) {
        const sample = samples.get(`${task.id}:t${turn}:s${step.step}:${mode}`);
        assert.ok(sample, `no ${mode} sample for ${task.id} turn ${turn} step ${step.step}`);
        const actor = TurnTemplate.renderPromptText(
          buildContext(transcript, cm as ContextMode).map((m) => ({
            role: ROLE_NAME[m.role as keyof typeof ROLE_NAME],
            content: m.content as string,
          })),
          tools,
        );
        const sft = TurnTemplate.renderPromptText(
          sample.context.map((m) => ({ role: m.role, content: m.content })),
          sample.tools.map(({ name, description, parameters }) => ({
            name,
            description,
            parameters,
          })),
        );
        assert.equal(actor, sft, `${sample.id}: the actor's prompt differs from the SFT sample`);
        compared++;
      }
      const progress = parseAssistantText(step.target).progress ?? undefined;
      transcript.push({ role: "assistant", content: step.target, progress });
      for (const r of step.results) transcript.push({ role: "tool", content: r });
    }
  }
  return compared;
}

Deno.test("the actor's prompts equal the SFT samples' (brief docs, all tools)", () => {
  assert.ok(checkParity("brief", 0, 12) > 40);
});

Deno.test("the actor's prompts equal the SFT samples' (signature docs, offered subset)", () => {
  assert.ok(checkParity("signature", 6, 24) > 80);
});
