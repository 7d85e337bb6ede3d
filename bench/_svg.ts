/**
 * A small dependency-free SVG line-chart writer for the benchmark curves:
 * `lineChart(chart)` returns an SVG document (a string). Axes may be linear
 * or logarithmic (base 10); each series is a polyline with a marker on every
 * point and a legend entry.
 *
 * @module
 */

/** One line on a chart: points as `[x, y]`, in data units. */
export interface Series {
  name: string;
  points: [number, number][];
  /** Drawn dashed (for references such as a floor). */
  dashed?: boolean;
}

/** A line chart. */
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Lower bound of a linear y axis (default 0). */
  yMin?: number;
  width?: number;
  height?: number;
  /** A line of small print under the chart (machine, date, run). */
  note?: string;
}

const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#17becf",
];

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Ticks for a linear axis over [lo, hi]: about `count` round steps (1, 2 or 5 × 10^k). */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Ticks for a log axis over [lo, hi]: the powers of ten in range (and the ends' decades). */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (
    let k = Math.floor(Math.log10(lo));
    k <= Math.ceil(Math.log10(hi));
    k++
  ) ticks.push(10 ** k);
  return ticks;
}

/** Short tick labels: 1,000 → "1k", 2,500,000 → "2.5M". */
export function formatTick(v: number): string {
  const abs = Math.abs(v);
  const short = (n: number, suffix: string) => `${Number(n.toPrecision(3))}${suffix}`;
  if (abs >= 1e6) return short(v / 1e6, "M");
  if (abs >= 1e3) return short(v / 1e3, "k");
  return String(Number(v.toPrecision(3)));
}

/** Renders `chart` as a standalone SVG document. */
export function lineChart(chart: Chart): string {
  const width = chart.width ?? 640;
  const height = chart.height ?? 400;
  const m = { left: 70, right: 180, top: 40, bottom: chart.note ? 70 : 55 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const points = chart.series.flatMap((s) => s.points).filter(([x, y]) =>
    Number.isFinite(x) && Number.isFinite(y) && (!chart.xLog || x > 0) &&
    (!chart.yLog || y > 0)
  );
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  let xTicks: number[], yTicks: number[];
  let xLo: number, xHi: number, yLo: number, yHi: number;
  if (chart.xLog) {
    xTicks = xs.length ? logTicks(Math.min(...xs), Math.max(...xs)) : [1, 10];
    [xLo, xHi] = [xTicks[0]!, xTicks.at(-1)!];
  } else {
    xTicks = linearTicks(Math.min(...xs, 0), Math.max(...xs, 1));
    [xLo, xHi] = [Math.min(xTicks[0]!, ...xs), Math.max(xTicks.at(-1)!, ...xs)];
  }
  if (chart.yLog) {
    yTicks = ys.length ? logTicks(Math.min(...ys), Math.max(...ys)) : [1, 10];
    [yLo, yHi] = [yTicks[0]!, yTicks.at(-1)!];
  } else {
    yTicks = linearTicks(chart.yMin ?? 0, Math.max(...ys, 1) * 1.05);
    [yLo, yHi] = [chart.yMin ?? 0, Math.max(yTicks.at(-1)!, ...ys)];
  }
  const fx = (x: number) => {
    const t = chart.xLog
      ? (Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))
      : (x - xLo) / (xHi - xLo || 1);
    return m.left + t * pw;
  };
  const fy = (y: number) => {
    const t = chart.yLog
      ? (Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))
      : (y - yLo) / (yHi - yLo || 1);
    return m.top + ph - t * ph;
  };
  const r = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${
      escapeXml(chart.title)
    }</text>`,
  );
  for (const t of xTicks) {
    const x = r(fx(t));
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e5e5e5"/>`,
      `<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${formatTick(t)}</text>`,
    );
  }
  for (const t of yTicks) {
    const y = r(fy(t));
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        formatTick(t)
      }</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" text-anchor="middle">${
      escapeXml(chart.xLabel)
    }</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${
      escapeXml(chart.yLabel)
    }</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([x, y]) =>
      Number.isFinite(x) && Number.isFinite(y) && (!chart.xLog || x > 0) &&
      (!chart.yLog || y > 0)
    );
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${
          pts.map(([x, y]) => `${r(fx(x))},${r(fy(y))}`).join(" ")
        }"/>`,
      );
    }
    for (const [x, y] of pts) {
      out.push(
        `<circle cx="${r(fx(x))}" cy="${r(fy(y))}" r="3" fill="${color}"/>`,
      );
    }
    const ly = m.top + 10 + i * 20;
    const lx = m.left + pw + 12;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${
        lx + 22
      }" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`,
    );
  });
  if (chart.note) {
    out.push(
      `<text x="${m.left}" y="${height - 10}" font-size="10" fill="#666">${
        escapeXml(chart.note)
      }</text>`,
    );
  }
  out.push("</svg>", "");
  return out.join("\n");
}
