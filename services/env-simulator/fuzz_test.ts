import assert from "node:assert/strict";
import fc from "fast-check";
import { PyDict } from "@parlmt/pycompat";
import { Executor } from "./executor.ts";
import { BFCL_CLASS_NAMES, createEnv } from "./envs/registry.ts";
import { listTasks } from "./tasks.ts";

const METHODS = BFCL_CLASS_NAMES.flatMap((c) => [...createEnv(c).methodNames()]);
const PARAMS = [
  "folder",
  "file_name",
  "source",
  "destination",
  "a",
  "b",
  "numbers",
  "user_id",
  "tweet_id",
  "ticket_id",
  "symbol",
  "amount",
  "access_token",
  "card_id",
  "door",
  "unlock",
  "speed",
  "lines",
  "mode",
  "x",
];

const literal: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.integer().map(String),
    fc.double().map((d) => Number.isFinite(d) ? String(d) : "1e309"),
    fc.constantFrom(
      "True",
      "False",
      "None",
      "'..'",
      "'/'",
      "'../etc/passwd'",
      "'a/b'",
      "''",
      "'.'",
      "'*?<>|'",
      "-0",
      "10**9",
    ),
    fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s)),
    fc.tuple(tie("v"), tie("v")).map(([a, b]) => `[${a}, ${b}]`),
    fc.tuple(fc.string({ maxLength: 5 }), tie("v")).map(([k, v]) => `{${JSON.stringify(k)}: ${v}}`),
  ),
})).v;

const call = fc.oneof(
  fc.tuple(
    fc.constantFrom(...METHODS),
    fc.array(fc.tuple(fc.constantFrom(...PARAMS), literal), { maxLength: 4 }),
  )
    .map(([m, kw]) => `${m}(${kw.map(([k, v]) => `${k}=${v}`).join(", ")})`),
  fc.tuple(fc.constantFrom(...METHODS), fc.array(literal, { maxLength: 4 })).map(([m, a]) =>
    `${m}(${a.join(", ")})`
  ),
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    "exit()",
    "eval('1')",
    "__import__('os').system('ls')",
    "ls(",
    "cd(folder='a'",
    "len('abc')",
    "rm(file_name=" + "[".repeat(300) + ")",
    "echo(content='" + "x".repeat(200_000) + "', file_name='a')",
    "cd(folder=cd(folder=cd(folder='..')))",
    "mkdir(dir_name=[1,2])",
    "power(base=10, exponent=10**6)",
    "power(base=10, exponent=1000000)",
    "logarithm(value=10, base=2, precision=100000)",
    "tail(file_name='a', lines=1.5)",
  ),
);

Deno.test("fuzz: 10,000 hostile calls never throw, always give strings, never touch another session", () => {
  const tasks = listTasks().filter((_t, i) => i % 7 === 0);
  const everyClass = {
    id: "fuzz",
    involvedClasses: [...BFCL_CLASS_NAMES],
    initialConfig: new PyDict(),
  };
  let n = 0;
  fc.assert(
    fc.property(
      fc.nat({ max: tasks.length }),
      fc.array(call, { minLength: 2, maxLength: 5 }),
      (ti, calls) => {
        const task = tasks[ti] ?? { ...everyClass, longContext: false };
        const victim = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
        const other = new Executor(task.involvedClasses, task.initialConfig, task.longContext);
        const before = other.stateJson();
        const results = victim.executeStrings(calls);
        n += calls.length;
        assert.equal(results.length, calls.length);
        for (const r of results) assert.equal(typeof r, "string");
        victim.stateJson();
        assert.equal(other.stateJson(), before);
      },
    ),
    { numRuns: 3500, seed: 42 },
  );
  assert.ok(n >= 10_000, `only ${n} calls`);
});
