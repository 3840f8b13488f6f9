// deno-lint-ignore-file no-explicit-any -- page.evaluate() callbacks read untyped browser globals
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { assignPanels, handleDashboard } from "./dashboard.ts";
import { ScalarLog } from "./scalar_log.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium";

Deno.test("assignPanels() puts exact names first, then prefixes, the rest in Other", () => {
  const panels = assignPanels([
    "losses/kl",
    "losses/policy",
    "rewards/success",
    "weird",
    "charts/success_rate",
  ]);
  const byTitle = Object.fromEntries(panels.map((p) => [p.title, p.series]));
  assert.deepEqual(byTitle["KL to reference"], ["losses/kl"]);
  assert.deepEqual(byTitle["Losses"], ["losses/policy"]);
  assert.deepEqual(byTitle["Reward terms"], ["rewards/success"]);
  assert.deepEqual(byTitle["Reward and success"], ["charts/success_rate"]);
  assert.deepEqual(byTitle["Other"], ["weird"]);
});

Deno.test("ScalarLog rejects non-finite values by name and reloads its JSONL file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await ScalarLog.open({ path: `${dir}/metrics.jsonl` });
    log.record(1, { "losses/kl": 0.5 }, 3);
    assert.throws(
      () => log.record(2, { "losses/kl": NaN }),
      /scalar "losses\/kl" at step 2: value NaN/,
    );
    log.close();
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, '{"step": 9, "sca', { append: true }); // torn
    const again = await ScalarLog.open({ path: `${dir}/metrics.jsonl` });
    assert.deepEqual(again.series()["losses/kl"], [[1], [0.5]]);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "dashboard - headless Chromium renders every plot with the data the learner holds",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const log = await ScalarLog.open();
    const names = [
      "charts/reward_mean",
      "charts/success_rate",
      "rewards/success",
      "rewards/call_f1",
      "losses/kl",
      "losses/clip_fraction",
      "off_policy/staleness_mean",
      "perf/episodes_per_sec",
      "charts/weights_version",
      "losses/policy",
    ];
    for (let step = 1; step <= 30; step++) {
      const scalars: Record<string, number> = {};
      names.forEach((n, i) => (scalars[n] = Math.sin(step / 5 + i) + i));
      log.record(step, scalars, Math.floor(step / 10));
    }
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) =>
        (await handleDashboard(req, log)) ?? new Response("not found", { status: 404 }),
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/dashboard`);
      await page.waitForFunction(() => (globalThis as any).dashboard?.updates >= 1, null, {
        timeout: 20_000,
      });
      // Eight panels, each a uPlot canvas.
      const titles = await page.$$eval(".panel h2", (hs) => hs.map((h) => h.textContent));
      assert.deepEqual(titles, [
        "Reward and success",
        "Reward terms",
        "KL to reference",
        "Clip fraction",
        "Staleness",
        "Actor throughput",
        "Weights version",
        "Losses",
      ]);
      assert.equal(await page.$$eval(".panel canvas", (cs) => cs.length), 8);
      // The plotted data is the learner's data.
      const plotted = await page.evaluate(() => {
        const charts = (globalThis as any).dashboard.charts;
        const out: Record<string, { labels: string[]; data: (number | null)[][] }> = {};
        for (const [title, entry] of Object.entries<any>(charts)) {
          out[title] = {
            labels: entry.plot.series.map((s: any) => s.label),
            data: entry.plot.data,
          };
        }
        return out;
      });
      const series = log.series();
      const kl = plotted["KL to reference"]!;
      assert.deepEqual(kl.labels, ["step", "losses/kl"]);
      assert.deepEqual(kl.data[0], series["losses/kl"]![0]);
      assert.deepEqual(kl.data[1], series["losses/kl"]![1]);
      const terms = plotted["Reward terms"]!;
      assert.deepEqual(terms.labels, ["step", "rewards/success", "rewards/call_f1"]);
      assert.deepEqual(terms.data[2], series["rewards/call_f1"]![1]);
      // New points appear live.
      log.record(31, { "losses/kl": 42 });
      await page.waitForFunction(
        () => {
          const d = (globalThis as any).dashboard.charts["KL to reference"].plot.data;
          return d[1][d[1].length - 1] === 42;
        },
        null,
        { timeout: 10_000 },
      );
      const status = await page.textContent("#status");
      assert.match(status ?? "", /step 31/);
      await page.screenshot({
        path: `${
          Deno.env.get("DASHBOARD_SCREENSHOT") ?? Deno.makeTempFileSync({ suffix: ".png" })
        }`,
      });
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
