import assert from "node:assert/strict";
import { PyDict } from "@parlmt/pycompat";
import { parseCall, parseCalls } from "./call_parser.ts";

Deno.test("parseCall() reads keyword and positional literals", () => {
  const c = parseCall(`f('a\\'b', -3, 1.5e3, x=[1, {'k': (2,)}], y=None, z=True, w="\\u00e9\\n")`);
  assert.equal(c.name, "f");
  assert.deepEqual(c.args.map((a) => a.kind === "literal" ? a.value : undefined), [
    "a'b",
    -3n,
    1500,
  ]);
  const x = c.kwargs[0]![1];
  assert.ok(x.kind === "literal" && Array.isArray(x.value) && x.value[1] instanceof PyDict);
  assert.deepEqual(c.kwargs.slice(1).map(([k, v]) => [k, v.kind === "literal" ? v.value : "?"]), [
    ["y", null],
    ["z", true],
    ["w", "é\n"],
  ]);
});

Deno.test("parseCall() keeps names and nested calls unevaluated", () => {
  const c = parseCall("cd(folder=pwd(), other=os)");
  assert.equal(c.kwargs[0]![1].kind, "call");
  assert.equal(c.kwargs[1]![1].kind, "name");
});

Deno.test("parseCall() throws SyntaxError with a clear message", () => {
  assert.throws(() => parseCall("x("), /Cannot parse call "x\(": unexpected end of input/);
  assert.throws(() => parseCall("f(a=1, 2)"), /positional argument follows keyword argument/);
  assert.throws(() => parseCall("f(a=1, a=2)"), /keyword argument repeated/);
  assert.throws(() => parseCall("f(" + "[".repeat(500) + ")"), /too deeply nested/);
  assert.throws(() => parseCall("f(1 + 2)"), SyntaxError);
});

Deno.test("parseCalls() reads a list of calls", () => {
  assert.deepEqual(parseCalls("[cd(folder='a'), ls()]").map((c) => c.name), ["cd", "ls"]);
  assert.deepEqual(parseCalls("[]"), []);
});
