/**
 * The proxy-sync chart as a standalone SVG: sync time, restore-alone time and render time
 * against the number of services. Plain SVG text, no charting library.
 */
export interface ChartPoint {
  services: number;
  render_ms: number;
  sync_ms: number;
  restore_only_ms: number;
}

const series = [
  { key: 'sync_ms', label: 'whole sync (bosun)', color: '#1f77b4', dash: '' },
  { key: 'restore_only_ms', label: 'iptables-restore alone, same payload', color: '#ff7f0e', dash: '6 4' },
  { key: 'render_ms', label: 'render only', color: '#2ca02c', dash: '2 3' },
] as const;

function niceMax(value: number): number {
  const step = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function drawChart(points: readonly ChartPoint[]): string {
  const width = 720;
  const height = 420;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxX = niceMax(Math.max(...points.map((p) => p.services)));
  const maxY = niceMax(Math.max(...points.flatMap((p) => [p.sync_ms, p.restore_only_ms, p.render_ms])));
  const x = (v: number) => left + (v / maxX) * plotW;
  const y = (v: number) => top + plotH - (v / maxY) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">Full proxy sync vs. services (5 endpoints each)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const vy = (maxY / 5) * i;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(vy)}" y2="${y(vy)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 8}" y="${y(vy) + 4}" text-anchor="end">${Math.round(vy)}</text>`);
    const vx = (maxX / 5) * i;
    out.push(`<text x="${x(vx)}" y="${top + plotH + 18}" text-anchor="middle">${Math.round(vx)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="black"/>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="black"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${height - 22}" text-anchor="middle">services</text>`);
  out.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">milliseconds</text>`);
  series.forEach((s, i) => {
    const coords = points.map((p) => `${x(p.services).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${coords}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
    for (const p of points) out.push(`<circle cx="${x(p.services).toFixed(1)}" cy="${y(p[s.key]).toFixed(1)}" r="3" fill="${s.color}"><title>${p.services} services: ${p[s.key]} ms</title></circle>`);
    const ly = top + 10 + i * 18;
    out.push(`<line x1="${left + 12}" x2="${left + 42}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
    out.push(`<text x="${left + 48}" y="${ly + 4}">${escape(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
