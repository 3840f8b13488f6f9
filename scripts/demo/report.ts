/**
 * The run's report: the held-out table as text (for the terminal) and a self-contained HTML page
 * with the table, the confidence interval and the curves (inline SVG, no scripts, no network).
 */
import { type EvalSummary, summarize, type TaskScore } from "./evaluate.ts";
import { pairedBootstrap, type PairedDifference, pct, pp, signed } from "./stats.ts";

/** One curve: x and y. */
export type Series = [number[], number[]];

/** The held-out comparison of two models. */
export interface Comparison {
  readonly names: [string, string];
  readonly a: EvalSummary;
  readonly b: EvalSummary;
  readonly success: PairedDifference;
  readonly turnAccuracy: PairedDifference;
  readonly reward: PairedDifference;
}

/** Compares two score lists over the same tasks. */
export function compare(
  names: [string, string],
  a: readonly TaskScore[],
  b: readonly TaskScore[],
): Comparison {
  return {
    names,
    a: summarize(a),
    b: summarize(b),
    success: pairedBootstrap(a.map((s) => s.success), b.map((s) => s.success)),
    turnAccuracy: pairedBootstrap(a.map((s) => s.turnAccuracy), b.map((s) => s.turnAccuracy)),
    reward: pairedBootstrap(a.map((s) => s.reward), b.map((s) => s.reward)),
  };
}

const ROWS: [string, (s: EvalSummary) => string][] = [
  ["success rate", (s) => pct(s.success)],
  ["per-turn accuracy", (s) => pct(s.turnAccuracy)],
  ["mean reward", (s) => s.reward.toFixed(3)],
  ["calls per task", (s) => s.callsPerTask.toFixed(2)],
  ["prompt tokens per turn", (s) => s.promptTokensPerTurn.toFixed(0)],
  ["format errors per task", (s) => s.formatErrors.toFixed(2)],
  ["context overflows", (s) => String(s.contextOverflows)],
];

/** The table as aligned text lines. */
export function tableLines(c: Comparison): string[] {
  const w = [24, 12, 12];
  const row = (cells: string[]) => cells.map((x, i) => x.padEnd(w[i] ?? 12)).join(" ");
  return [
    row(["held-out", c.names[0], c.names[1]]),
    row(["-".repeat(22), "-".repeat(10), "-".repeat(10)]),
    ...ROWS.map(([name, f]) => row([name, f(c.a), f(c.b)])),
  ];
}

/** The last line of the demo. */
export function headline(c: Comparison): string {
  const d = c.success;
  return `held-out success: ${c.names[0]} ${pct(c.a.success)} -> ${c.names[1]} ${
    pct(c.b.success)
  } (95% CI of the difference: [${pp(d.low)}, ${pp(d.high)}])`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** An SVG line chart of `series` (one or more named curves). */
export function svgChart(title: string, series: Record<string, Series>): string {
  const W = 420, H = 220, L = 48, R = 10, T = 24, B = 28;
  const all = Object.values(series).filter(([x]) => x.length > 0);
  if (all.length === 0) return "";
  const xs = all.flatMap(([x]) => x);
  const ys = all.flatMap(([, y]) => y).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => L + ((x - x0) / Math.max(1e-9, x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
  const lines = Object.entries(series).map(([name, [x, y]], i) => {
    const pts = x.map((xi, j) =>
      Number.isFinite(y[j]) ? `${sx(xi).toFixed(1)},${sy(y[j]!).toFixed(1)}` : ""
    )
      .filter(Boolean).join(" ");
    const color = colors[i % colors.length];
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>` +
      `<text x="${L + 6 + i * 110}" y="${T - 8}" fill="${color}" font-size="11">${
        esc(name)
      }</text>`;
  }).join("");
  const fmt = (v: number) => Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">` +
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${
      H - T - B
    }" fill="none" stroke="#ccc"/>` +
    `<text x="${L - 4}" y="${T + 4}" text-anchor="end" font-size="10">${fmt(y1)}</text>` +
    `<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">${fmt(y0)}</text>` +
    `<text x="${L}" y="${H - 10}" font-size="10">${fmt(x0)}</text>` +
    `<text x="${W - R}" y="${H - 10}" text-anchor="end" font-size="10">${fmt(x1)}</text>` +
    lines + `</svg></figure>`;
}

/** Series of `name` from metrics events (steps on x). */
export function seriesOf(
  events: readonly { step: number; scalars: Record<string, number> }[],
  name: string,
): Series {
  const x: number[] = [], y: number[] = [];
  for (const e of events) {
    const v = e.scalars[name];
    if (v !== undefined && v !== null) {
      x.push(e.step);
      y.push(v);
    }
  }
  return [x, y];
}

/** The HTML report. */
export function htmlReport(opts: {
  title: string;
  comparison: Comparison;
  facts: [string, string][];
  charts: string[];
}): string {
  const c = opts.comparison;
  const rows = ROWS.map(([name, f]) =>
    `<tr><td>${esc(name)}</td><td>${esc(f(c.a))}</td><td>${esc(f(c.b))}</td></tr>`
  ).join("");
  const facts = opts.facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join(
    "",
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    esc(opts.title)
  }</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px}table{border-collapse:collapse;margin:8px 0 16px}
td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}figure{display:inline-block;margin:8px}
figcaption{font-weight:600;font-size:12px}.headline{font-size:16px;font-weight:600}</style></head><body>
<h1>${esc(opts.title)}</h1>
<p class="headline" id="headline">${esc(headline(c))}</p>
<table id="heldout"><tr><th>held-out (${c.a.tasks} tasks)</th><th>${esc(c.names[0])}</th><th>${
    esc(c.names[1])
  }</th></tr>${rows}</table>
<p>Differences (${esc(c.names[1])} − ${
    esc(c.names[0])
  }, paired bootstrap over tasks, 10,000 resamples):
success ${pp(c.success.difference)} points [${pp(c.success.low)}, ${pp(c.success.high)}],
per-turn accuracy ${pp(c.turnAccuracy.difference)} points [${pp(c.turnAccuracy.low)}, ${
    pp(c.turnAccuracy.high)
  }], mean composite reward ${signed(c.reward.difference)} [${signed(c.reward.low)}, ${
    signed(c.reward.high)
  }].</p>
<h2>Curves</h2>${opts.charts.join("\n")}
<h2>Run</h2><table>${facts}</table></body></html>
`;
}
