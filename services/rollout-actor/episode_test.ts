import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { computeReward } from "../learner/rewards.ts";
import { canonicalCall } from "../learner/reward_config.ts";
import { progressBlock } from "./episode.ts";

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

  // A step whose calls follow its plan earns the awareness-alignment term.
  const trajectory = create(TrajectorySchema, {
    turns: [{
      steps: [{
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
    [["send_message(receiver_id='USR002', message='hi; there')"]],
    canonicalCall,
  );
  assert.equal(r.terms.alignment, 1);
});
