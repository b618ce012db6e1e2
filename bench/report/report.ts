/**
 * The benchmark report: one Markdown page with the machine, the date, each suite's targets
 * against what it measured (pass/miss), and SVG charts drawn from the suites' result JSON.
 * Pure: outcomes in, Markdown and SVG text out; bench/all.ts writes the files.
 */
import { drawChart as proxySyncChart, type ChartPoint } from '../proxy-sync/chart.ts';
import { cdfPoints, lineChart, type ChartSeries } from './svg-chart.ts';
import { missesSection, type Explanations } from './misses.ts';
import { execSection } from './exec-section.ts';
import { suiteChecks, suiteOrder, verdict } from './targets.ts';
import { serverMemorySection } from './server-memory-section.ts';

type Result = Record<string, unknown>;

/** The suites in the order the run ran them (its outcomes), then any it does not have. */
function runOrderOf(outcomes: readonly SuiteOutcome[]): string[] {
  const ran = outcomes.map((o) => o.suite);
  return [...ran, ...suiteOrder.filter((s) => !ran.includes(s))];
}

export interface SuiteOutcome {
  suite: string;
  status: 'ran' | 'failed' | 'missing';
  result?: Result;
  seconds?: number;
  /** One line: why it failed. */
  error?: string;
  /** Shown beside the status, e.g. that the result was reused from an earlier run. */
  note?: string;
  /** Load average (1 min) when the suite started. */
  load?: number;
  /** What the wait for a quiet host found before the suite started (full runs). */
  hostQuiet?: { waited_s: number; busy_pct: number; quiet: boolean };
}

export interface Machine {
  cores: number;
  memoryGiB: number;
  cpuModel: string;
  kernel: string;
  os: string;
  loadAverage: readonly number[];
}

interface Report {
  markdown: string;
  /** file name (without folder) -> SVG text */
  charts: Record<string, string>;
}

interface ScaleStep {
  backend: string;
  nodes_ready: number;
  pods_running: number;
  mutating: { p99_ms: number };
  read: { p99_ms: number };
  server_rss_mib: number;
}

const mark = { pass: 'pass ✅', miss: 'miss ❌', 'no data': 'no data' } as const;

function numbers(value: unknown): number[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? value : undefined;
}

function podStartChart(result: Result): string | undefined {
  const samples = result.samples_ms as Record<string, unknown> | undefined;
  const series: ChartSeries[] = [];
  const names: [string, string][] = [
    ['api', 'through bosun server + agent (SLI)'],
    ['agent', 'agent pod worker alone'],
    ['raw', 'raw CRI calls (baseline)'],
  ];
  for (const [key, label] of names) {
    const values = numbers(samples?.[key]);
    if (values && values.length > 0)
      series.push({ label, points: cdfPoints(values), step: true, ...(key === 'raw' ? { dash: '6 4' } : {}) });
  }
  if (series.length === 0) return undefined;
  return lineChart({
    title: 'Pod start latency, CDF',
    xLabel: 'milliseconds',
    yLabel: '% of pods started',
    series,
    yMax: 100,
    marks: [],
  });
}

function scaleSteps(result: Result): ScaleStep[] {
  return ((result.steps as ScaleStep[] | undefined) ?? []).filter((s) => s.nodes_ready > 0);
}

function apiByNodesChart(steps: readonly ScaleStep[]): string | undefined {
  if (steps.length === 0) return undefined;
  const series: ChartSeries[] = [];
  for (const backend of [...new Set(steps.map((s) => s.backend))]) {
    const own = steps.filter((s) => s.backend === backend);
    series.push({ label: `${backend}: mutating p99`, points: own.map((s) => [s.nodes_ready, s.mutating.p99_ms]) });
    series.push({
      label: `${backend}: single GET p99`,
      points: own.map((s) => [s.nodes_ready, s.read.p99_ms]),
      dash: '6 4',
    });
  }
  return lineChart({
    title: 'API request latency p99 vs. hollow nodes (30 pods per node)',
    xLabel: 'nodes',
    yLabel: 'milliseconds',
    series,
    marks: [
      { y: 250, label: 'mutating target 250 ms' },
      { y: 100, label: 'read target 100 ms' },
    ],
  });
}

function rssChart(steps: readonly ScaleStep[]): string | undefined {
  const series: ChartSeries[] = [];
  for (const backend of [...new Set(steps.map((s) => s.backend))]) {
    series.push({
      label: `bosun server (${backend})`,
      points: steps.filter((s) => s.backend === backend).map((s) => [s.pods_running, s.server_rss_mib]),
    });
  }
  if (series.length === 0) return undefined;
  return lineChart({
    title: 'Server RSS vs. pods in the cluster',
    xLabel: 'pods',
    yLabel: 'MiB',
    series,
    marks: [{ y: 1024, label: 'target 1 GiB' }],
  });
}

function agentRssChart(footprint: Result | undefined): string | undefined {
  const idle = typeof footprint?.idle_rss_mib === 'number' ? footprint.idle_rss_mib : undefined;
  const loaded = typeof footprint?.rss_110_pods_mib === 'number' ? footprint.rss_110_pods_mib : undefined;
  if (idle === undefined || loaded === undefined) return undefined;
  const pods = typeof footprint?.pods === 'number' ? footprint.pods : 110;
  return lineChart({
    title: 'Node agent RSS vs. pods on the node',
    xLabel: 'pods',
    yLabel: 'MiB',
    series: [
      {
        label: 'bosun agent',
        points: [
          [0, idle],
          [pods, loaded],
        ],
      },
    ],
    marks: [
      { y: 120, label: 'target with 110 pods' },
      { y: 60, label: 'target idle' },
    ],
  });
}

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined) return '—';
  const text = Math.abs(value) >= 100 ? String(Math.round(value)) : String(Math.round(value * 100) / 100);
  return unit === '×' ? `${text}×` : `${text} ${unit}`;
}

interface SoakKind {
  count: number;
  recovered: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
}

/** What each package the agent loads costs in memory, each loaded alone (agent-footprint). */
function dependencySection(footprint: Result | undefined): string[] {
  const costs = footprint?.dependency_cost_mib as Record<string, { rssMiB?: number; heapMiB?: number }> | undefined;
  if (costs === undefined || Object.keys(costs).length === 0) return [];
  const lines = [
    '## Agent memory by package',
    '',
    "Each loaded alone into a fresh Node with the agent's flags, after two full collections; the last row is the agent with everything it loads at start.",
    '',
    '| package | RSS MiB | heap MiB |',
    '|---|---|---|',
  ];
  for (const [name, cost] of Object.entries(costs))
    lines.push(`| \`${name}\` | ${cost.rssMiB ?? '—'} | ${cost.heapMiB ?? '—'} |`);
  lines.push('');
  return lines;
}

/** Recovery per fault kind, RSS before and after, and what the soak found (empty when it ran clean). */
function soakSection(result: Result | undefined): string[] {
  const byKind = result?.by_kind as Record<string, SoakKind> | undefined;
  if (result === undefined || byKind === undefined) return [];
  const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const lines = ['## Fault soak', ''];
  lines.push(
    `${result.minutes ?? '?'} minutes of faults (seed ${result.seed}, 3 sandbox nodes, node-monitor grace 15 s), ${result.faults} faults; after each, every invariant had to hold again within 120 s: Deployments and the StatefulSet at their replica count and Ready, each Service answering from a pod on another node, no pod running twice, no acknowledged write lost, no leaked sandbox/container/iptables chain/mount. Recovery is timed from the end of the injection (process restarted, link healed, burst written).`,
    '',
  );
  lines.push('| fault | count | recovered | p50 | p99 | max |', '|---|---|---|---|---|---|');
  for (const [kind, k] of Object.entries(byKind))
    lines.push(`| ${kind} | ${k.count} | ${k.recovered} | ${s(k.p50_ms)} | ${s(k.p99_ms)} | ${s(k.max_ms)} |`);
  lines.push('');
  const rss = result.rss_mib as Record<string, { start: number; end: number }> | undefined;
  if (rss !== undefined) {
    lines.push(
      `RSS after a settle period, against the start (bound ${result.rss_bound_pct ?? 20} %): ${Object.entries(rss)
        .map(([p, v]) => `${p} ${v.start} → ${v.end} MiB`)
        .join('; ')}.`,
      '',
    );
  }
  const findings = (result.findings as string[] | undefined) ?? [];
  lines.push(findings.length === 0 ? 'Findings: none.' : `Findings:\n${findings.map((f) => `- ${f}`).join('\n')}`, '');
  return lines;
}

/** The wait for a quiet host before a suite, in a few words. */
function hostAtStart(quiet: SuiteOutcome['hostQuiet']): string {
  if (quiet === undefined) return '—';
  return `${quiet.quiet ? 'quiet' : 'still busy'} after ${quiet.waited_s} s (${quiet.busy_pct} % busy)`;
}

export function renderReport(
  outcomes: readonly SuiteOutcome[],
  machine: Machine,
  date: Date,
  quick: boolean,
  explanations: Explanations = {},
): Report {
  const bySuite = new Map(outcomes.map((o) => [o.suite, o]));
  const charts: Record<string, string> = {};
  const lines: string[] = [];
  lines.push(`# bosun benchmark report${quick ? ' (quick sizes)' : ''}`, '');
  lines.push(
    `Generated by \`npm run bench -- all${quick ? ' --quick' : ''}\` on ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC. Every suite measured its own baseline in the same run.`,
    '',
  );
  lines.push('## Machine', '');
  lines.push(`- ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory`);
  lines.push(`- ${machine.os}, kernel ${machine.kernel}`);
  lines.push(
    `- load average at the end: ${machine.loadAverage.map((v) => v.toFixed(2)).join(', ')} (1, 5, 15 min); other work shared the machine, so absolute times are pessimistic`,
  );
  lines.push('');
  lines.push('## Targets', '', '| suite | what | target | measured | |', '|---|---|---|---|---|');
  for (const suite of suiteOrder) {
    const outcome = bySuite.get(suite);
    if (!outcome || outcome.status !== 'ran') {
      const why =
        !outcome || outcome.status === 'missing'
          ? 'not run: suite missing'
          : `not run: failed (${outcome.error ?? 'no reason'})`;
      lines.push(`| ${suite} | ${why} | | | |`);
      continue;
    }
    for (const check of suiteChecks[suite] ?? []) {
      const value = check.measured(outcome.result ?? {});
      const comparison = check.better === 'lower' ? '≤' : '≥';
      lines.push(
        `| ${suite} | ${check.label} | ${comparison} ${fmt(check.target, check.unit)} | ${fmt(value, check.unit)} | ${mark[verdict(check, value)]} |`,
      );
    }
  }
  lines.push('');
  lines.push(...missesSection(outcomes, fmt, explanations));
  lines.push(
    '## Runs',
    '',
    'Before each suite of a full run the host is left to settle until its CPUs are at most 10 % busy over 2 s (at most 90 s).',
    '',
    'The suites are listed in the order they ran: what a suite measures can depend on what the one before it left behind.',
    '',
    '| suite | status | duration | load (1 min) at start | host at start |',
    '|---|---|---|---|---|',
  );
  for (const suite of runOrderOf(outcomes)) {
    const outcome = bySuite.get(suite);
    const status =
      !outcome || outcome.status === 'missing'
        ? 'not run: suite missing'
        : outcome.status === 'failed'
          ? `failed: ${outcome.error ?? ''}`
          : outcome.note
            ? `ran (${outcome.note})`
            : 'ran';
    lines.push(
      `| ${suite} | ${status} | ${outcome?.seconds !== undefined ? `${Math.round(outcome.seconds)} s` : '—'} | ${outcome?.load !== undefined ? outcome.load.toFixed(2) : '—'} | ${hostAtStart(outcome?.hostQuiet)} |`,
    );
  }
  lines.push('');

  lines.push('## Charts', '');
  const addChart = (name: string, title: string, svg: string | undefined, missing: string) => {
    if (svg === undefined) {
      lines.push(`### ${title}`, '', `No chart: ${missing}.`, '');
      return;
    }
    charts[name] = svg;
    lines.push(`### ${title}`, '', `![${title}](results/${name})`, '');
  };
  const podStart = bySuite.get('pod-start')?.result;
  addChart(
    'report-pod-start-cdf.svg',
    'Pod start latency (CDF) vs. raw CRI',
    podStart ? podStartChart(podStart) : undefined,
    'pod-start did not run or saved no samples',
  );
  const proxy = bySuite.get('proxy-sync')?.result;
  const sizes = proxy?.sizes as ChartPoint[] | undefined;
  addChart(
    'report-proxy-sync.svg',
    'Proxy sync time vs. services, and iptables-restore alone',
    sizes && sizes.length > 0 ? proxySyncChart(sizes) : undefined,
    'proxy-sync did not run',
  );
  const scale = bySuite.get('scale')?.result;
  const steps = scale ? scaleSteps(scale) : [];
  addChart('report-api-p99-vs-nodes.svg', 'API p99 vs. nodes', apiByNodesChart(steps), 'scale did not run');
  const footprint = bySuite.get('agent-footprint')?.result;
  addChart('report-server-rss-vs-pods.svg', 'Server RSS vs. pods', rssChart(steps), 'scale did not run');
  addChart(
    'report-agent-rss-vs-pods.svg',
    'Agent RSS vs. pods',
    agentRssChart(footprint),
    'agent-footprint did not run',
  );

  if (steps.length > 0) {
    lines.push(
      '## Scale steps',
      '',
      '| backend | nodes Ready | pods running | join s | rollout s | mutating p50/p99 ms | GET p50/p99 ms | leases/s | server RSS MiB (peak) | server CPU % | hollow KiB/node | datastore MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of scale!.steps as Record<string, any>[]) {
      lines.push(
        `| ${s.backend} | ${s.nodes_ready}/${s.nodes_target} | ${s.pods_running}/${s.pods_target} | ${s.join_s} | ${s.rollout_s} | ${s.mutating.p50_ms} / ${s.mutating.p99_ms}${s.latency_window === 'join' ? ' (join only)' : ''} | ${s.read.p50_ms} / ${s.read.p99_ms} | ${s.lease_writes_per_s ?? 'n/a'} | ${s.server_rss_mib} (${s.server_peak_rss_mib}) | ${s.server_cpu_pct} | ${s.hollow_kib_per_node ?? 'n/a'} | ${s.datastore_mib} |`,
      );
    }
    for (const s of scale!.steps as Record<string, any>[])
      if (s.note) lines.push(`- ${s.backend}, ${s.nodes_target} nodes: ${s.note}`);
    lines.push('');
  }
  lines.push(...serverMemorySection(scale));
  lines.push(...dependencySection(footprint));
  lines.push(...execSection(bySuite.get('exec')?.result));
  lines.push(...soakSection(bySuite.get('soak')?.result));
  lines.push('Raw results: `bench/results/<suite>.json`.', '');
  return { markdown: `${lines.join('\n')}\n`, charts };
}
