/**
 * eval:bfcl end to end: the project's own policy server (a tiny random model with a 20k context,
 * exported in the HF/Optimum layout) answers over its OpenAI-compatible API; one task of one
 * category is played turn by turn and checked. A random model solves nothing, so the check is
 * that the whole loop runs and the per-category table is printed. Bad flags get clear errors.
 */
import assert from "node:assert/strict";
import { startOpenAiPolicy } from "./_openai_policy.ts";

const SCRIPT = new URL("../services/env-simulator/eval_bfcl.ts", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "eval:bfcl - plays a task against a real OpenAI-compatible model and prints the table",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using policy = await startOpenAiPolicy({ blockSize: 20480, nLayer: 1 });
    const url = policy.url;
    const r = await run([
      "--policy",
      url,
      "--model",
      "tiny",
      "--categories",
      "multi_turn_miss_param",
      "--tasks",
      "1",
      "--max-tokens",
      "8",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /multi_turn_miss_param_0: (pass|fail)/);
    assert.match(r.stdout, /\| multi_turn_miss_param \| [01] \| 1 \| (0|100)\.00% \|/);
    assert.match(r.stdout, /overall \(unweighted mean of categories\): /);

    const bad = await run(["--policy", url, "--categories", "multi_turn_nope"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid category "multi_turn_nope"/);
    assert.match((await run([])).stderr, /--policy is required/);
  },
});
