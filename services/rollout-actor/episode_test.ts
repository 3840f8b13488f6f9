import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { computeReward } from "../learner/rewards.ts";
import { canonicalCall } from "../learner/reward_config.ts";
import { Arm } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { parseAssistantText } from "@parlmt/tokenizer";
import { armWritesProgress, progressBlock, stepFormatError } from "./episode.ts";

Deno.test("progressBlock() records the plan, so the alignment reward can see it", () => {
  const text = "done: get_user_id(user='Ana') -> user_id=USR002\n" +
    "plan: send_message(receiver_id='USR002', message='hi; there'); view_messages_sent()";
  const block = progressBlock(text);
  assert.deepEqual(block.plan, [
    "send_message(receiver_id='USR002', message='hi; there')",
    "view_messages_sent()",
  ]);
  assert.deepEqual(block.summary, ["done: get_user_id(user='Ana') -> user_id=USR002"]);
  assert.deepEqual(progressBlock("plan: none").plan, []);
  assert.deepEqual(progressBlock("not a block").plan, [], "malformed: text only");

  // A step whose calls follow its plan, after a summary whose claim holds, earns the
  // awareness-alignment term.
  const trajectory = create(TrajectorySchema, {
    turns: [{
      steps: [{
        progress: progressBlock("plan: get_user_id(user='Ana')"),
        calls: [{ name: "get_user_id", source: "get_user_id(user='Ana')" }],
        results: [{ output: '{"user_id": "USR002"}', isError: false }],
      }, {
        progress: block,
        calls: [{
          name: "send_message",
          source: "send_message(receiver_id='USR002',message='hi; there')",
        }],
        results: [{ isError: false }],
      }],
    }],
  });
  const r = computeReward(
    trajectory,
    [["get_user_id(user='Ana')", "send_message(receiver_id='USR002', message='hi; there')"]],
    canonicalCall,
  );
  assert.equal(r.terms.alignment, 1);
});

Deno.test("stepFormatError() counts a broken progress block as a format error, not a reply", () => {
  const bad = (text: string, progressBlocks = true) =>
    stepFormatError(parseAssistantText(text), progressBlocks);
  // Well-formed: calls or a reply after a closed block.
  assert.equal(bad("<progress>plan: ls()</progress>[ls()]"), false);
  assert.equal(bad("<progress>done: ls() -> ok\nplan: none</progress>Done."), false);
  // Seen in RL rollouts: an unclosed block parsed as a plain reply and scored as well-formed.
  assert.equal(bad("<progress>plan: post_tweet(content='a', tags=['#b'])]"), true);
  assert.equal(bad("<progress>plan: ls()</progress>Which</progress>"), true);
  assert.equal(bad("<progress>plan: ls()</progress><progress>plan: ls()</progress>[ls()]"), true);
  // The arms trained on PAG data open every step with a block; the raw-transcript arm does not.
  assert.equal(bad("[ls()]"), true);
  assert.equal(bad("[ls()]", false), false);
  assert.equal(bad("Done.", false), false);
  // Empty replies and call lists that do not split stay errors.
  assert.equal(bad("<progress>plan: ls()</progress>"), true);
  assert.equal(bad("<progress>plan: ls()</progress>[ls(]"), true);
  assert.equal(armWritesProgress(Arm.PAG_RL), true);
  assert.equal(armWritesProgress(Arm.SFT), true);
  assert.equal(armWritesProgress(Arm.PAG_MT_GRPO), true);
  assert.equal(armWritesProgress(Arm.MT_GRPO), false);
});
