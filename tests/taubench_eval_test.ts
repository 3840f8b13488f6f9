/**
 * eval:taubench end to end: the project's own policy server (a tiny random model with a 20k
 * context, exported in the HF/Optimum layout) plays both the agent and the simulated user over
 * its OpenAI-compatible API; one airline task, two trials, three agent steps each. A random
 * model solves nothing, so the check is that the whole loop runs and pass^1..pass^2 are printed.
 */
import assert from "node:assert/strict";
import { startOpenAiPolicy } from "./_openai_policy.ts";

Deno.test({
  name:
    "eval:taubench - runs trials against a real OpenAI-compatible agent and user, reports pass^k",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using policy = await startOpenAiPolicy({ blockSize: 20480, nLayer: 1 });
    const url = policy.url;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../services/env-simulator/taubench/eval.ts", import.meta.url).pathname,
        "--policy",
        url,
        "--policy-model",
        "tiny",
        "--user",
        url,
        "--user-model",
        "tiny",
        "--domain",
        "airline",
        "--trials",
        "2",
        "--tasks",
        "0",
        "--max-steps",
        "3",
        "--max-tokens",
        "16",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /trial 0 task 0: reward 0/);
    assert.match(stderr, /trial 1 task 0: reward 0/);
    assert.match(stdout, /airline test: 2 episodes, average reward 0\.0000/);
    assert.match(stdout, /pass\^1: 0\.00%\npass\^2: 0\.00%/);
  },
});
