/**
 * Small hand-written SVG charts for the offline HTML report: no scripts, no
 * external files. Every data point carries `data-point` so a test can count
 * what was drawn.
 */

/** One line or bar series. */
export interface ChartSeries {
  label: string;
  color: string;
  points: Array<[number, number]>;
  /** Draw bars instead of a line. */
  bars?: boolean;
}

/** Options of {@link renderChart}. */
export interface ChartOptions {
  title: string;
  series: ChartSeries[];
  /** A horizontal limit line (the descriptor limit, /tmp size, memory size). */
  limit?: { value: number; label: string };
  /** X positions of failures, drawn as red ticks on the axis. */
  failures?: number[];
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  width?: number;
  height?: number;
}

const MARGIN = { top: 34, right: 12, bottom: 28, left: 56 };

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Renders a chart as an inline SVG element. */
export function renderChart(options: ChartOptions): string {
  const width = options.width ?? 420;
  const height = options.height ?? 180;
  const formatX = options.formatX ?? ((x: number) => String(Math.round(x)));
  const formatY = options.formatY ?? ((y: number) => compactNumber(y));
  const all = options.series.flatMap((series) => series.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const minX = xs.length ? Math.min(...xs) : 0;
  const maxX = xs.length ? Math.max(...xs) : 1;
  const maxY = Math.max(1, ...ys, options.limit ? options.limit.value * 1.05 : 0);

  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) =>
    MARGIN.left + (maxX === minX ? plotWidth / 2 : ((x - minX) / (maxX - minX)) * plotWidth);
  const sy = (y: number) => MARGIN.top + plotHeight - (y / maxY) * plotHeight;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">`,
  );
  parts.push(
    `<text x="${MARGIN.left}" y="14" class="chart-title">${escapeHtml(options.title)}</text>`,
  );
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotHeight}" x2="${width - MARGIN.right}" y2="${MARGIN.top + plotHeight}" class="axis"/>`,
  );
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotHeight}" class="axis"/>`,
  );
  for (const fraction of [0, 0.5, 1]) {
    const y = maxY * fraction;
    parts.push(
      `<text x="${MARGIN.left - 4}" y="${sy(y) + 4}" class="tick" text-anchor="end">${escapeHtml(formatY(y))}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left}" y="${height - 6}" class="tick">${escapeHtml(formatX(minX))}</text>`,
  );
  parts.push(
    `<text x="${width - MARGIN.right}" y="${height - 6}" class="tick" text-anchor="end">${escapeHtml(formatX(maxX))}</text>`,
  );

  if (options.limit) {
    const y = sy(options.limit.value);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${width - MARGIN.right}" y2="${y}" class="limit"/>`,
    );
    parts.push(
      `<text x="${width - MARGIN.right}" y="${y - 3}" class="limit-label" text-anchor="end">${escapeHtml(options.limit.label)}</text>`,
    );
  }
  for (const x of options.failures ?? []) {
    parts.push(
      `<line x1="${sx(x)}" y1="${MARGIN.top + plotHeight}" x2="${sx(x)}" y2="${MARGIN.top + plotHeight - 8}" class="failure" data-failure=""/>`,
    );
  }

  for (const series of options.series) {
    if (series.bars) {
      const barWidth = Math.max(1, plotWidth / Math.max(1, series.points.length) - 1);
      for (const [x, y] of series.points) {
        if (y <= 0) continue;
        parts.push(
          `<rect x="${sx(x) - barWidth / 2}" y="${sy(y)}" width="${barWidth}" height="${sy(0) - sy(y)}" fill="${series.color}" data-point=""><title>${escapeHtml(`${series.label}: ${formatY(y)} at ${formatX(x)}`)}</title></rect>`,
        );
      }
      continue;
    }
    const path = series.points
      .map(([x, y], index) => `${index === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join("");
    if (path)
      parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="1.5"/>`);
    // Draw at most 300 markers; the line still goes through every point.
    const step = Math.max(1, Math.ceil(series.points.length / 300));
    series.points.forEach(([x, y], index) => {
      if (index % step !== 0 && index !== series.points.length - 1) return;
      parts.push(
        `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.6" fill="${series.color}" data-point=""/>`,
      );
    });
  }

  if (options.series.length > 1) {
    options.series.forEach((series, index) => {
      // The legend sits between the title and the plot, so it never covers a limit line.
      const x = MARGIN.left + index * 130;
      parts.push(
        `<rect x="${x}" y="19" width="8" height="8" fill="${series.color}"/><text x="${x + 12}" y="27" class="tick">${escapeHtml(series.label)}</text>`,
      );
    });
  }
  parts.push("</svg>");
  return parts.join("");
}

/** Formats 1234567 as 1.2M, 2048 as 2.0k. */
export function compactNumber(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (magnitude >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (magnitude >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
