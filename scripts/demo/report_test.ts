import assert from "node:assert/strict";
import { pairedBootstrap, quantile } from "./stats.ts";
import { compare, headline, htmlReport, svgChart, tableLines } from "./report.ts";
import type { TaskScore } from "./evaluate.ts";

function scores(successes: number[]): TaskScore[] {
  return successes.map((s, i) => ({
    taskId: `t${i}`,
    success: s,
    turnAccuracy: s,
    reward: 0.2 + s,
    calls: 2,
    promptTokens: 100,
    formatErrors: 0,
    contextOverflow: false,
  }));
}

Deno.test("pairedBootstrap(): the interval brackets the mean difference and is seeded", () => {
  const a = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const b = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const d = pairedBootstrap(a, b);
  assert.ok(Math.abs(d.difference - 0.25) < 1e-12);
  assert.ok(d.low > 0.15 && d.low < 0.25 && d.high > 0.25 && d.high < 0.35, JSON.stringify(d));
  assert.deepEqual(pairedBootstrap(a, b), d);
  // No difference at all: a degenerate interval at zero.
  const z = pairedBootstrap(a, a);
  assert.deepEqual([z.difference, z.low, z.high], [0, 0, 0]);
  assert.throws(() => pairedBootstrap([1], [1, 0]), /Cannot pair 1 scores with 2/);
});

Deno.test("quantile() interpolates", () => {
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([1, 2, 3], 0.5), 2);
});

Deno.test("headline() is the demo's last line, with the interval in points", () => {
  const c = compare(["SFT", "PAG-RL"], scores([1, 0, 0, 0]), scores([1, 1, 0, 0]));
  assert.match(
    headline(c),
    /^held-out success: SFT 25\.0% -> PAG-RL 50\.0% \(95% CI of the difference: \[[+-]\d+\.\d, [+-]\d+\.\d\]\)$/,
  );
  const lines = tableLines(c);
  assert.equal(lines.length, 9);
  assert.match(lines.find((l) => l.startsWith("mean reward"))!, /0\.450\s+0\.700/);
  assert.ok(c.reward.difference > 0.249 && c.reward.difference < 0.251);
  const html = htmlReport({
    title: "t <x>",
    comparison: c,
    facts: [["k", "v"]],
    charts: [svgChart("c", { a: [[0, 1, 2], [1, 3, 2]] })],
  });
  assert.ok(html.includes("<polyline") && html.includes("t &#60;x&#62;"));
  assert.ok(html.includes('id="headline"'));
  assert.match(html, /mean composite reward \+0\.250 \[/);
});
