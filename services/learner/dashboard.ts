/**
 * The learner's live dashboard: one HTML page with uPlot charts that poll the scalar log
 * (reward and success, each reward term, KL, clip fraction, staleness, actor throughput,
 * weights version, losses). Served on the learner's admin HTTP port.
 *
 * Routes: `/dashboard` (the page), `/dashboard/api/scalars` (every series as JSON),
 * `/dashboard/static/uplot.js|uplot.css` (the uPlot package's own files).
 */
import { createRequire } from "node:module";
import type { ScalarLog } from "./scalar_log.ts";

/** A chart: a title and the series it draws (exact names, or a prefix ending in `/`). */
export interface Panel {
  title: string;
  series: readonly string[];
}

/** The charts, in page order. Series no panel claims go to "Other". */
export const PANELS: readonly Panel[] = [
  { title: "Reward and success", series: ["charts/reward_mean", "charts/success_rate"] },
  { title: "Reward terms", series: ["rewards/"] },
  { title: "KL to reference", series: ["losses/kl"] },
  { title: "Clip fraction", series: ["losses/clip_fraction"] },
  { title: "Staleness", series: ["off_policy/"] },
  { title: "Actor throughput", series: ["perf/"] },
  { title: "Weights version", series: ["charts/weights_version"] },
  { title: "Losses", series: ["losses/"] },
];

const require = createRequire(import.meta.url);

function staticFile(name: string): () => Promise<Uint8Array<ArrayBuffer>> {
  let cached: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return () => cached ??= Deno.readFile(require.resolve(name));
}

const UPLOT_JS = staticFile("uplot/dist/uPlot.iife.min.js");
const UPLOT_CSS = staticFile("uplot/dist/uPlot.min.css");

/** Assigns every series to the first panel that claims it (exact names before prefixes). */
export function assignPanels(names: readonly string[]): { title: string; series: string[] }[] {
  const taken = new Set<string>();
  const out = PANELS.map((p) => ({ title: p.title, series: [] as string[] }));
  for (const exact of [true, false]) {
    PANELS.forEach((panel, i) => {
      for (const pattern of panel.series) {
        for (const name of names) {
          if (taken.has(name)) continue;
          const hit = exact ? name === pattern : pattern.endsWith("/") && name.startsWith(pattern);
          if (hit) {
            out[i]!.series.push(name);
            taken.add(name);
          }
        }
      }
    });
  }
  const rest = names.filter((n) => !taken.has(n));
  if (rest.length > 0) out.push({ title: "Other", series: rest });
  return out.filter((p) => p.series.length > 0);
}

/** Handles the dashboard's routes; other paths get `undefined`. */
export async function handleDashboard(
  req: Request,
  log: ScalarLog,
  title = "PARL-MT learner",
): Promise<Response | undefined> {
  const url = new URL(req.url);
  switch (url.pathname) {
    case "/dashboard":
    case "/dashboard/":
      return new Response(page(title), { headers: { "content-type": "text/html; charset=utf-8" } });
    case "/dashboard/api/scalars": {
      const series = log.series();
      const body = { lastStep: log.lastStep, panels: assignPanels(Object.keys(series)), series };
      return Response.json(body, { headers: { "cache-control": "no-store" } });
    }
    case "/dashboard/static/uplot.js":
      return new Response(await UPLOT_JS(), { headers: { "content-type": "text/javascript" } });
    case "/dashboard/static/uplot.css":
      return new Response(await UPLOT_CSS(), { headers: { "content-type": "text/css" } });
    default:
      return undefined;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/dashboard/static/uplot.css">
<style>
 body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
 #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
 .panel { border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
 .panel h2 { font-size: 15px; margin: 0 0 6px; }
 #status { color: #555; margin-bottom: 12px; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<div id="status">waiting for data…</div>
<div id="grid"></div>
<script src="/dashboard/static/uplot.js"></script>
<script>
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const charts = {};
window.dashboard = { charts, data: null, updates: 0 };

function panelData(panel, series) {
  const steps = [...new Set(panel.series.flatMap((n) => series[n][0]))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const columns = panel.series.map((n) => {
    const col = new Array(steps.length).fill(null);
    series[n][0].forEach((s, i) => { col[index.get(s)] = series[n][1][i]; });
    return col;
  });
  return [steps, ...columns];
}

function render(body) {
  window.dashboard.data = body;
  const grid = document.getElementById("grid");
  for (const panel of body.panels) {
    const data = panelData(panel, body.series);
    const key = panel.title + "|" + panel.series.join(",");
    let entry = charts[panel.title];
    if (entry && entry.key !== key) { entry.plot.destroy(); entry.box.remove(); entry = undefined; }
    if (!entry) {
      const box = document.createElement("div");
      box.className = "panel";
      box.dataset.title = panel.title;
      box.innerHTML = "<h2></h2>";
      box.querySelector("h2").textContent = panel.title;
      grid.appendChild(box);
      const opts = {
        width: 500, height: 220,
        scales: { x: { time: false } },
        series: [{ label: "step" }, ...panel.series.map((name, i) => ({
          label: name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
        }))],
      };
      entry = charts[panel.title] = { key, box, plot: new uPlot(opts, data, box) };
    } else {
      entry.plot.setData(data);
    }
  }
  const latest = Object.entries(body.series).filter(([n]) => n.startsWith("charts/"))
    .map(([n, [, v]]) => n.slice(7) + " " + Number(v[v.length - 1]).toPrecision(4)).join(" · ");
  document.getElementById("status").textContent = "step " + body.lastStep + (latest ? " · " + latest : "");
  window.dashboard.updates++;
}

async function poll() {
  try {
    const res = await fetch("/dashboard/api/scalars", { cache: "no-store" });
    if (res.ok) render(await res.json());
  } catch (err) {
    document.getElementById("status").textContent = "learner unreachable: " + err;
  }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>`;
}
