import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { calculate } from "./calculate.ts";

Deno.test("calculate() reproduces the spec's examples", () => {
  const cases: [string, string][] = [
    ["2 + 2", "4.0"],
    ["1 / 3", "0.33"],
    ["(1 + 2) * 3", "9.0"],
    ["2 ** 100", "1.2676506002282294e+30"],
    ["1 / 0", "Error: division by zero"],
    ["(1 + 2", "Error: '(' was never closed (<string>, line 1)"],
    ["", "Error: invalid syntax (<string>, line 0)"],
    [
      "01",
      "Error: leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers (<string>, line 1)",
    ],
    ["10 ** 400", "Error: int too large to convert to float"],
    ["(-8) ** 0.5", "Error: float() argument must be a string or a real number, not 'complex'"],
    ["-2 ** 2", "-4.0"],
    ["7 // -2", "-4.0"],
    ["1e5", "Error: invalid characters in expression"],
    ["2.675", "2.67"],
    ["0.125", "0.12"],
    ["0.375", "0.38"],
  ];
  for (const [expr, want] of cases) assert.equal(calculate(expr), want, expr);
});

Deno.test("calculate() equals CPython 3.11 on 2500 generated expressions", () => {
  const url = new URL("../testdata/taubench_calculate_cases.json.gz", import.meta.url);
  const cases: [string, string][] = JSON.parse(
    new TextDecoder().decode(gunzipSync(Deno.readFileSync(url))),
  );
  assert.equal(cases.length, 2500);
  const wrong = cases.filter(([expr, want]) => calculate(expr) !== want);
  assert.deepEqual(wrong, []);
});

Deno.test("calculate() refuses huge powers without hanging", () => {
  assert.equal(calculate("9 ** 9 ** 9"), "Error: int too large to convert to float");
});
