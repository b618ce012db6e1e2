/**
 * The proxy-sync chart: sync time, restore-alone time and render time against the number of
 * services, drawn by the report's SVG chart module.
 */
import { lineChart } from '../report/svg-chart.ts';

export interface ChartPoint {
  services: number;
  render_ms: number;
  sync_ms: number;
  restore_only_ms: number;
}

export function drawChart(points: readonly ChartPoint[]): string {
  const of = (key: 'sync_ms' | 'restore_only_ms' | 'render_ms') => points.map((p) => [p.services, p[key]] as const);
  return lineChart({
    title: 'Full proxy sync vs. services (5 endpoints each)',
    xLabel: 'services',
    yLabel: 'milliseconds',
    series: [
      { label: 'whole sync (bosun)', points: of('sync_ms') },
      { label: 'iptables-restore alone, same payload', points: of('restore_only_ms'), dash: '6 4' },
      { label: 'render only', points: of('render_ms'), dash: '2 3' },
    ],
  });
}
