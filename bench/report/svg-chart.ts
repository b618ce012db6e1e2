/**
 * Small standalone SVG line charts for the benchmark report: several series of (x, y) points,
 * axes with round tick values, a legend, optional horizontal target lines, and a CDF helper.
 * Plain SVG text (no library, no script), so any browser or rsvg-convert renders it.
 */
export interface ChartSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  /** SVG stroke-dasharray, '' for a solid line. */
  dash?: string;
  /** Draw as steps (for a CDF) instead of straight segments. */
  step?: boolean;
}

interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Horizontal lines, e.g. a target. */
  marks?: readonly { y: number; label: string }[];
  /** Fixed axis maxima (default: a round number above the data). */
  xMax?: number;
  yMax?: number;
}

const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least `value`. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value * (1 - 1e-9)) return m * step;
  return 10 * step;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tickText(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return `${Math.round(value / 100) / 10}k`.replace('.0k', 'k');
  return String(Math.round(value * 100) / 100);
}

/** Empirical CDF of samples as points (value, fraction ≤ value), fraction in percent. */
export function cdfPoints(samples: readonly number[]): [number, number][] {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.map((value, i) => [value, ((i + 1) / sorted.length) * 100]);
}

export function lineChart(spec: ChartSpec): string {
  const width = 720;
  const height = 420;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p[1])), ...(spec.marks ?? []).map((m) => m.y)];
  const maxX = spec.xMax ?? niceMax(Math.max(0, ...xs));
  const maxY = spec.yMax ?? niceMax(Math.max(0, ...ys));
  const x = (v: number) => (left + (Math.min(v, maxX) / maxX) * plotW).toFixed(1);
  const y = (v: number) => (top + plotH - (Math.min(v, maxY) / maxY) * plotH).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const vy = (maxY / 5) * i;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(vy)}" y2="${y(vy)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 8}" y="${Number(y(vy)) + 4}" text-anchor="end">${tickText(vy)}</text>`);
    const vx = (maxX / 5) * i;
    out.push(`<text x="${x(vx)}" y="${top + plotH + 18}" text-anchor="middle">${tickText(vx)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="black"/>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="black"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${height - 22}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const mark of spec.marks ?? []) {
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(mark.y)}" y2="${y(mark.y)}" stroke="#999" stroke-dasharray="8 4"/>`,
    );
    out.push(
      `<text x="${left + plotW - 4}" y="${Number(y(mark.y)) - 4}" text-anchor="end" fill="#666">${escapeXml(mark.label)}</text>`,
    );
  }
  spec.series.forEach((s, i) => {
    const color = palette[i % palette.length]!;
    const dash = s.dash ?? '';
    const coords: string[] = [];
    s.points.forEach((p, j) => {
      if (s.step && j > 0) coords.push(`${x(p[0])},${y(s.points[j - 1]![1])}`);
      coords.push(`${x(p[0])},${y(p[1])}`);
    });
    if (coords.length > 0)
      out.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`,
      );
    if (!s.step) {
      for (const p of s.points)
        out.push(
          `<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3" fill="${color}"><title>${escapeXml(`${s.label}: ${p[0]}, ${p[1]}`)}</title></circle>`,
        );
    }
    const ly = top + 10 + i * 18;
    out.push(
      `<line x1="${left + 12}" x2="${left + 42}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`,
    );
    out.push(`<text x="${left + 48}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
