import assert from "node:assert/strict";
import { parseDemoArgs } from "./demo.ts";

const quiet = () => {};

Deno.test("parseDemoArgs(): defaults, and every bad flag refused by name", () => {
  const cfg = parseDemoArgs([], quiet);
  assert.equal(cfg.entities, "base");
  assert.equal(cfg.heldout, "template");
  assert.equal(cfg.rotary, true);
  assert.equal(cfg.preTokenizer, "isolated");
  assert.equal(cfg.from, undefined);
  assert.equal(cfg.rlUpdates, 0);
  assert.equal(cfg.rlFamilies, 1);
  assert.equal(cfg.rlEpochs, 2);
  assert.equal(cfg.emaDecay, 0.95);
  assert.equal(cfg.rewardWeights, "call_f1=0,redundancy=0,alignment=0");
  assert.deepEqual([cfg.threads, cfg.policyThreads], [2, 1]);
  const reuse = parseDemoArgs(
    ["--from", "runs/a", "--heldout", "entity", "--rl-updates", "40"],
    quiet,
  );
  assert.equal(reuse.rlUpdates, 40);
  const tuned = parseDemoArgs(
    ["--estimator", "dr_grpo", "--reward-weights", "format=0", "--turn-level-weight", "0.5"],
    quiet,
  );
  assert.deepEqual(
    [tuned.estimator, tuned.rewardWeights, tuned.turnLevelWeight],
    ["dr_grpo", "format=0", 0.5],
  );
  assert.equal(reuse.from, "runs/a");
  assert.equal(reuse.heldout, "entity");
  for (
    const [args, re] of [
      [["--entities", "huge"], /"--entities".*"huge"/],
      [["--heldout", "none"], /"--heldout".*"none"/],
      [["--rotary", "yes"], /"--rotary".*"yes"/],
      [["--pre-tokenizer", "bert"], /"--pre-tokenizer".*"bert"/],
      [["--rl-batch", "0"], /"--rl-batch"/],
      [["--rl-families", "4"], /"--rl-families".*0, 1, 2, 3.*"4"/],
      [["--rl-epochs", "0"], /"--rl-epochs"/],
      [["--ema-decay", "1"], /"--ema-decay".*\[0, 1\)/],
      [["--ema-decay=-0.5"], /"--ema-decay"/],
      [["--policy-threads", "0"], /"--policy-threads"/],
      [["--arm", "ppo"], /"--arm".*"ppo"/],
      [["--tasks", "abc"], /"--tasks"/],
      [["--estimator", "ppo"], /"--estimator".*"ppo"/],
      [["--advantage-weighting", "sequence"], /"--advantage-weighting".*"sequence"/],
      [["--reward-weights", "speed=1"], /"--reward-weights".*unknown term "speed"/],
      [["--rl-updates=-3"], /"--rl-updates"/],
      [["--rl-updates", "2.5"], /"--rl-updates".*integer/],
      [["--max-calls-per-turn", "0"], /"--max-calls-per-turn"/],
      [["--miss-param-rate=-1"], /"--miss-param-rate"/],
      [["--miss-func-rate", "2"], /"--miss-func-rate".*\[0, 1\]/],
      [["--no-such-flag", "1"], /no-such-flag/],
    ] as [string[], RegExp][]
  ) {
    assert.throws(() => parseDemoArgs(args, quiet), re, args.join(" "));
  }
});
