import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TrajectorySchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";
import { computeReward, DEFAULT_REWARD_WEIGHTS, type RewardWeights } from "./rewards.ts";
import { rewardWeightsFor, withRewardOverrides } from "./reward_config.ts";

/** Canonical form for the test: strip spaces (the service passes the BFCL parser's form). */
const canon = (c: string) => {
  if (c.includes("(") === false) throw new SyntaxError(`not a call: ${c}`);
  return c.replaceAll(" ", "");
};

function step(
  calls: string[],
  opts: { plan?: string[]; errors?: boolean[]; formatError?: boolean } = {},
) {
  return {
    calls: calls.map((source) => ({ name: source.split("(")[0], source })),
    results: calls.map((_, i) => ({ isError: opts.errors?.[i] ?? false })),
    progress: opts.plan ? { plan: opts.plan } : undefined,
    formatError: opts.formatError ?? false,
  };
}

const ONLY = (term: keyof RewardWeights): RewardWeights => ({
  success: 0,
  turn_checks: 0,
  call_f1: 0,
  format: 0,
  redundancy: 0,
  alignment: 0,
  [term]: 1,
});

Deno.test("computeReward() scores a perfect trajectory with every term at its best", () => {
  const t = create(TrajectorySchema, {
    turns: [
      { steps: [step(["cd(folder='a')", "ls()"], { plan: ["cd(folder='a')", "ls()"] })] },
      { steps: [step(["mkdir(dir_name='b')"], { plan: ["mkdir(dir_name='b')"] })] },
    ],
    check: {
      success: true,
      turns: [{ stateOk: true, responseOk: true }, { stateOk: true, responseOk: true }],
    },
  });
  const r = computeReward(t, [["cd(folder = 'a')", "ls()"], ["mkdir(dir_name='b')"]], canon);
  assert.deepEqual(r.terms, {
    success: 1,
    turn_checks: 1,
    call_f1: 1,
    format: 1,
    redundancy: 0,
    alignment: 1,
  });
  const w = DEFAULT_REWARD_WEIGHTS;
  assert.equal(r.total, w.success + w.turn_checks + w.call_f1 + w.format + w.alignment);
});

Deno.test("computeReward() call_f1 on a hand-computed example", () => {
  // Turn 0: predicted {a, b, c}, truth {a, b}: P=2/3 R=1 F1=0.8. Turn 1: predicted {}, truth {d}: 0.
  const t = create(TrajectorySchema, {
    turns: [{ steps: [step(["a()", "b()", "c()"])] }, { steps: [] }],
  });
  const r = computeReward(t, [["a()", "b()"], ["d()"]], canon, ONLY("call_f1"));
  assert.ok(Math.abs(r.terms.call_f1 - 0.4) < 1e-12);
  assert.ok(Math.abs(r.total - 0.4) < 1e-12);
});

Deno.test("computeReward() redundancy counts repeats and failed extra calls", () => {
  // 4 calls: a (ok), a (repeat), x (failed, not in truth), b (failed but in truth) → 2/4.
  const t = create(TrajectorySchema, {
    turns: [{
      steps: [step(["a()", "a()", "x()", "b()"], { errors: [false, false, true, true] })],
    }],
  });
  const r = computeReward(t, [["a()", "b()"]], canon);
  assert.equal(r.terms.redundancy, 0.5);
});

Deno.test("computeReward() format and alignment fractions, unparsable calls never match", () => {
  const t = create(TrajectorySchema, {
    turns: [{
      steps: [
        step(["a()"], { plan: ["a()", "b()"] }), // announced
        step(["c()"], { plan: ["b()"] }), // not announced
        step([], { formatError: true }),
        step(["garbage"], { plan: ["garbage"] }), // does not parse: never matches
      ],
    }],
  });
  const r = computeReward(t, [["a()", "c()"]], canon);
  assert.equal(r.terms.format, 0.75);
  assert.ok(Math.abs(r.terms.alignment - 2 / 3) < 1e-12, `${r.terms.alignment}`);
  assert.equal(r.terms.success, 0);
});

Deno.test("computeReward() turn_checks is the fraction of turns passing both checks", () => {
  const t = create(TrajectorySchema, {
    check: {
      success: false,
      turns: [
        { stateOk: true, responseOk: true },
        { stateOk: false, responseOk: true },
        { stateOk: true, responseOk: false },
        { stateOk: true, responseOk: true },
      ],
    },
  });
  assert.equal(computeReward(t, [], canon).terms.turn_checks, 0.5);
});

Deno.test("withRewardOverrides(): term=weight pairs replace the arm's weights; bad ones are named", () => {
  const base = rewardWeightsFor("pag-rl");
  assert.deepEqual(withRewardOverrides(base, ""), base);
  const w = withRewardOverrides(base, "format=0, alignment=0.5,redundancy=-1e-1,call_f1=2");
  assert.equal(w.format, 0);
  assert.equal(w.alignment, 0.5);
  assert.equal(w.redundancy, -0.1);
  assert.equal(w.call_f1, 2);
  assert.equal(w.success, base.success);
  assert.throws(() => withRewardOverrides(base, "speed=1"), /unknown term "speed"/);
  assert.throws(() => withRewardOverrides(base, "format"), /"format": expected term=weight/);
  assert.throws(() => withRewardOverrides(base, "format=abc"), /"abc" is not a finite number/);
  assert.throws(() => withRewardOverrides(base, "format=0,format=1"), /"format" given twice/);
});

Deno.test("computeReward() alignment checks the summary's done/fact claims against what ran", () => {
  const ran = (calls: string[], outputs: string[], progress: object) => ({
    calls: calls.map((source) => ({ name: source.split("(")[0], source })),
    results: outputs.map((output) => ({ output, isError: false })),
    progress,
  });
  const t = create(TrajectorySchema, {
    turns: [{
      steps: [
        ran(["get_user_id(user='Ana')"], ['{"user_id": "USR002"}'], {
          plan: ["get_user_id(user='Ana')"], // announced: holds
        }),
        ran(["send_message(receiver_id='USR002', message='hi')"], ['{"sent_status": true}'], {
          summary: [
            "done: get_user_id(user='Ana') -> user_id=USR002", // ran, value right: holds
            "fact: get_user_id.user_id=USR002", // holds
          ],
          plan: ["send_message(receiver_id='USR002', message='hi')"], // holds
        }),
        ran([], [], {
          summary: [
            "done: get_user_id(user='Bob') -> user_id=USR002", // never ran: fails
            "done: send_message(receiver_id='USR002', message='hi') -> sent_status=false", // wrong
            "turn 1: get_user_id", // claims nothing checkable
          ],
          plan: [],
        }),
      ],
    }],
  });
  const r = computeReward(t, [[]], canon, ONLY("alignment"));
  assert.ok(Math.abs(r.terms.alignment - 4 / 6) < 1e-12, `${r.terms.alignment}`);
});
