/**
 * The benchmark report's pure parts: the SVG chart module (rendered to PNG by rsvg-convert, so a
 * chart a browser could not draw fails here), the API latency SLI computed from the API server's
 * own metrics text, and the Markdown report's targets and pass/miss marks.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiMetrics, type RequestLabels } from '../../controlplane/api/metrics.ts';
import { parseScrape, quantile, summarize, windowOf } from '../../bench/scale/api-latency.ts';
import { cdfPoints, lineChart, niceMax } from '../../bench/report/svg-chart.ts';
import { renderReport, type SuiteOutcome } from '../../bench/report/report.ts';
import { missesSection, parseExplanations } from '../../bench/report/misses.ts';
import { digestProfile, digestProfiles } from '../../bench/scale/profile-summary.ts';
import { suiteChecks } from '../../bench/report/targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'bosun-report-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** PNG width and height from its IHDR chunk, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function render(svg: string, name: string): Buffer {
  const svgPath = join(dir, `${name}.svg`);
  writeFileSync(svgPath, svg);
  const pngPath = join(dir, `${name}.png`);
  // rsvg-convert refuses malformed XML with a non-zero exit, which fails the test
  execFileSync('rsvg-convert', ['-o', pngPath, svgPath]);
  return readFileSync(pngPath);
}

test('a line chart with a CDF, a dashed series and a target line renders to a PNG of its size', (t) => {
  const svg = lineChart({
    title: 'Pod start <CDF> & raw',
    xLabel: 'ms',
    yLabel: '%',
    series: [
      { label: 'agent', points: cdfPoints([120, 80, 100, 300, 90]), step: true },
      {
        label: 'raw "CRI"',
        points: [
          [0, 0],
          [50, 40],
          [200, 100],
        ],
        dash: '6 4',
      },
    ],
    marks: [{ y: 99, label: 'p99' }],
  });
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.includes('Pod start &lt;CDF&gt; &amp; raw'), 'text is escaped');
  const png = render(svg, 'cdf');
  t.deepEqual(pngSize(png), { width: 720, height: 420 });
  // a blank image compresses to almost nothing; lines and text do not
  t.true(png.length > 5_000, `PNG of ${png.length} bytes looks empty`);
});

test('CDF points are sorted and end at 100 %; axis maxima are round', (t) => {
  t.deepEqual(cdfPoints([30, 10, 20, 40]), [
    [10, 25],
    [20, 50],
    [30, 75],
    [40, 100],
  ]);
  t.is(niceMax(7), 10);
  t.is(niceMax(130), 200);
  t.is(niceMax(2400), 2500);
  t.is(niceMax(0), 1);
});

const labels = (verb: string, resource: string, scope: string, subresource = ''): RequestLabels => ({
  verb,
  group: '',
  version: 'v1',
  resource,
  subresource,
  scope,
  code: 200,
});

test('API latency from two scrapes of the server metrics: only the window counts, quantiles interpolate in buckets', (t) => {
  const metrics = new ApiMetrics();
  // before the window: slow writes that must not count
  for (let i = 0; i < 50; i++) metrics.observeRequest(labels('POST', 'pods', 'namespace'), 2);
  const before = parseScrape(metrics.render());
  // in the window: 100 lease PUTs at 10 ms, 100 at 40 ms; 10 GETs at 3 ms; a watch (excluded)
  for (let i = 0; i < 100; i++) metrics.observeRequest(labels('PUT', 'leases', 'resource'), 0.01);
  for (let i = 0; i < 100; i++) metrics.observeRequest(labels('PUT', 'leases', 'resource'), 0.04);
  for (let i = 0; i < 10; i++) metrics.observeRequest(labels('GET', 'nodes', 'resource'), 0.003);
  metrics.observeRequest(labels('LIST', 'pods', 'cluster'), 0.3);
  metrics.observeRequest(labels('WATCH', 'pods', 'cluster'), 60);
  const after = parseScrape(metrics.render());
  const window = windowOf(before, after);
  t.is(window.requests.get('PUT leases'), 200);
  t.is(window.requests.get('POST pods'), undefined, 'writes before the window are subtracted');
  t.true((window.gauges.get('nodejs_heap_size_used_bytes') ?? 0) > 0, "the server's heap, as last scraped");
  const summary = summarize(window);
  t.is(summary.mutating.count, 200);
  // the median sits at the top of the (5 ms, 25 ms] bucket; p99 interpolates inside (25 ms, 50 ms]
  t.is(summary.mutating.p50_ms, 25);
  t.is(summary.mutating.p99_ms, 49.5);
  t.is(summary.read.count, 10);
  t.true(summary.read.p99_ms <= 5);
  t.is(summary.list.count, 1);
  t.deepEqual(summary.rows[0], { key: 'PUT leases', scope: 'resource', count: 200, p50_ms: 25, p99_ms: 49.5 });
  t.is(quantile([], 0.5), undefined);
  t.is(
    quantile(
      [
        { le: 0.1, count: 0 },
        { le: Number.POSITIVE_INFINITY, count: 4 },
      ],
      0.99,
    ),
    0.1,
    'the +Inf bucket answers its lower edge',
  );
});

test('the report marks each target pass or miss, names missing suites, and links its charts', (t) => {
  const outcomes: SuiteOutcome[] = [
    {
      suite: 'pod-start',
      status: 'ran',
      seconds: 40,
      load: 2.5,
      result: {
        p99_ms: 500,
        overhead_ratio: 1.4,
        api_p50_ratio: 1.4,
        api_p99_ratio: 1.15,
        samples_ms: { api: [300, 350, 500], raw: [200, 210, 260] },
      },
    },
    {
      suite: 'proxy-sync',
      status: 'ran',
      result: {
        sizes: [
          { services: 1000, render_ms: 10, sync_ms: 110, restore_only_ms: 100 },
          { services: 10000, render_ms: 90, sync_ms: 1000, restore_only_ms: 950 },
        ],
        partial_p99_ms: 70,
        rss_kib_per_service: 15,
      },
    },
    {
      suite: 'scale',
      status: 'ran',
      result: {
        nodes: 300,
        elapsed_s: 750,
        mutating_p99_ms: 180,
        read_p99_ms: 20,
        server_rss_mib: 400,
        steps: [
          {
            backend: 'sqlite',
            nodes_target: 100,
            nodes_ready: 100,
            pods_target: 3000,
            pods_running: 3000,
            join_s: 30,
            rollout_s: 60,
            mutating: { p50_ms: 10, p99_ms: 80 },
            read: { p50_ms: 3, p99_ms: 10 },
            lease_writes_per_s: 10,
            server_rss_mib: 250,
            server_peak_rss_mib: 260,
            server_cpu_pct: 40,
            hollow_kib_per_node: 900,
            datastore_mib: 20,
          },
          {
            backend: 'sqlite',
            nodes_target: 300,
            nodes_ready: 300,
            pods_target: 9000,
            pods_running: 9000,
            join_s: 80,
            rollout_s: 160,
            mutating: { p50_ms: 20, p99_ms: 180 },
            read: { p50_ms: 4, p99_ms: 20 },
            lease_writes_per_s: 30,
            server_rss_mib: 400,
            server_peak_rss_mib: 420,
            server_cpu_pct: 70,
            hollow_kib_per_node: 800,
            datastore_mib: 60,
          },
        ],
      },
    },
    { suite: 'api', status: 'failed', error: 'exit 1: etcd did not start' },
    {
      suite: 'agent-footprint',
      status: 'ran',
      result: { idle_rss_mib: 70, dependency_cost_mib: { '@grpc/grpc-js': { rssMiB: 6.5, heapMiB: 3.1 } } },
    },
  ];
  const report = renderReport(
    outcomes,
    {
      cores: 2,
      memoryGiB: 24,
      cpuModel: 'test cpu',
      kernel: '6.1.0',
      os: 'Debian GNU/Linux 12',
      loadAverage: [3, 2, 1],
    },
    new Date('2026-01-02T03:04:05Z'),
    false,
  );
  const md = report.markdown;
  t.regex(md, /\| pod-start \| pod start p99 .* \| ≤ 600 ms \| 500 ms \| pass ✅ \|/);
  t.regex(
    md,
    /\| pod-start \| pod start through the API p50 \/ raw CRI p50, same run \| ≤ 1\.2× \| 1\.4× \| miss ❌ \|/,
  );
  t.regex(
    md,
    /\| pod-start \| pod start through the API p99 \/ raw CRI p99, same run \| ≤ 1\.2× \| 1\.15× \| pass ✅ \|/,
  );
  t.regex(md, /\| proxy-sync \| full sync \/ restore alone, largest size \| ≤ 1\.15× \| 1\.05× \| pass ✅ \|/);
  t.regex(md, /\| scale \| mutating p99, largest sqlite step \| ≤ 250 ms \| 180 ms \| pass ✅ \|/);
  t.regex(md, /\| scale \| hollow nodes reached \(of 1,000\) \| ≥ 1000 nodes \| 300 nodes \| miss ❌ \|/);
  // the 1,000-node step never ran: no pods there, on either backend
  t.regex(
    md,
    /\| scale \| pods ready at 1,000 nodes on sqlite \(of 30,000\), within the budget \| ≥ 30000 pods \| 0 pods \| miss ❌ \|/,
  );
  t.regex(
    md,
    /\| scale \| pods ready at 1,000 nodes on etcd \(of 30,000\), within the budget \| ≥ 30000 pods \| 0 pods \| miss ❌ \|/,
  );
  t.regex(
    md,
    /\| scale \| the whole scale suite \(100, 300, 1,000 nodes on sqlite and etcd\) \| ≤ 15 min \| 12\.5 min \| pass ✅ \|/,
  );
  t.regex(md, /\| bringup \| not run: suite missing \|/);
  t.regex(md, /\| api \| not run: failed \(exit 1: etcd did not start\) \|/);
  t.regex(md, /2 cores \(test cpu\), 24 GiB memory/);
  t.regex(md, /load average at the end: 3\.00, 2\.00, 1\.00/);
  t.regex(md, /2026-01-02 03:04 UTC/);
  t.deepEqual(Object.keys(report.charts).sort(), [
    'report-api-p99-vs-nodes.svg',
    'report-pod-start-cdf.svg',
    'report-proxy-sync.svg',
    'report-server-rss-vs-pods.svg',
  ]);
  for (const name of Object.keys(report.charts)) t.true(md.includes(`](results/${name})`), `${name} is linked`);
  t.regex(md, /## Agent memory by package[^#]*\| `@grpc\/grpc-js` \| 6\.5 \| 3\.1 \|/);
  for (const [name, svg] of Object.entries(report.charts)) t.true(render(svg, name).length > 5_000, `${name} renders`);
});

test('each miss gets its measured value, its recorded explanation (or says it has none) and the suite profile', (t) => {
  const outcomes = [
    {
      suite: 'scale',
      status: 'ran',
      result: {
        mutating_p99_ms: 700,
        read_p99_ms: 40,
        server_rss_mib: 900,
        nodes: 900,
        profiles: [
          {
            backend: 'sqlite',
            sampled_s: 400,
            functions: [{ name: 'commit storage/sqlite.ts:10', pct: 9.5 }],
            files: [
              { name: 'storage/sqlite.ts', pct: 12 },
              { name: 'a|b.ts', pct: 3 },
            ],
          },
        ],
      },
    },
    { suite: 'exec', status: 'ran', result: { ratio: 1.5 } },
    { suite: 'api', status: 'failed' },
  ];
  const lines = missesSection(outcomes, (v, unit) => `${v} ${unit}`, {
    scale: { 'mutating p99, largest sqlite step': 'SQLite commits wait for fsync.' },
  }).join('\n');
  t.regex(
    lines,
    /### scale: mutating p99, largest sqlite step\n\nMeasured 700 ms against ≤ 250 ms\.\n\nSQLite commits wait for fsync\./,
  );
  t.regex(
    lines,
    /### scale: hollow nodes reached \(of 1,000\)\n\nMeasured 900 nodes against ≥ 1000 nodes\.\n\nNo explanation recorded/,
  );
  t.notRegex(lines, /single GET p99/, 'a met target is not listed');
  t.notRegex(lines, /### exec/, 'exec met its target');
  // the profile is shown once per suite, under its first miss
  t.is(lines.match(/Server CPU profile, sqlite \(400 s sampled\)/g)?.length, 1);
  t.regex(lines, /\| 9\.5 % \| `commit storage\/sqlite\.ts:10` \| \| 12 % \| `storage\/sqlite\.ts` \|/);
  t.notRegex(lines.replace(/`[^`]*`/g, ''), /a\|b/, 'a name cannot break the table');
  t.deepEqual(
    missesSection([{ suite: 'exec', status: 'ran', result: { ratio: 1.5 } }], (v) => String(v), {}),
    ['## Misses, and where the time went', '', 'Every target that was measured was met.', ''],
  );
});

test("a CPU profile's digest gives each function's and file's share of the sampled self time, largest first", (t) => {
  const file = join(dir, 'server.cpuprofile');
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
  writeFileSync(
    file,
    JSON.stringify({
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('commit', `file://${join(import.meta.dirname, '../../storage/sqlite.ts')}`) },
        { id: 3, callFrame: frame('parse', 'file:///opt/bosun/node_modules/js-yaml/lib/loader.js') },
      ],
      // a sample's time is the gap to the next sample: 2 → 30 ms, 3 → 10 ms, 2 → 60 ms
      samples: [2, 3, 2, 1],
      timeDeltas: [0, 30_000, 10_000, 60_000],
    }),
  );
  const digest = digestProfile(file, 5);
  t.is(digest.sampled_s, 0.1);
  t.deepEqual(digest.functions, [
    { name: 'commit storage/sqlite.ts:10', pct: 90 },
    { name: 'parse node_modules/js-yaml/lib:10', pct: 10 },
  ]);
  t.deepEqual(
    digest.files.map((f) => f.name),
    ['storage/sqlite.ts', 'node_modules/js-yaml/lib'],
  );
});

test('profiles of several runs of one command add up into one digest', (t) => {
  const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });
  const write = (name: string, samples: number[], timeDeltas: number[]) => {
    const file = join(dir, name);
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('load') },
          { id: 2, callFrame: frame('decode') },
        ],
        samples,
        timeDeltas,
      }),
    );
    return file;
  };
  // run 1: load 30 ms, decode 10 ms; run 2: load 10 ms, decode 50 ms → decode 60 of 100 ms
  const digest = digestProfiles([
    write('run-1.cpuprofile', [1, 2, 1], [0, 30_000, 10_000]),
    write('run-2.cpuprofile', [1, 2, 1], [0, 10_000, 50_000]),
  ]);
  t.is(digest.sampled_s, 0.1);
  t.deepEqual(digest.functions, [
    { name: 'decode (native)', pct: 60 },
    { name: 'load (native)', pct: 40 },
  ]);
});

test("a profile with a title is shown under the title, not as a server's", (t) => {
  const lines = missesSection(
    [
      {
        suite: 'cri-cli',
        status: 'ran',
        result: {
          executable_ps_median_ms: 500,
          profiles: [{ title: "the executable's `cri ps`, 10 runs", sampled_s: 0.9, functions: [], files: [] }],
        },
      },
    ],
    (v) => String(v),
    {},
  ).join('\n');
  t.regex(lines, /CPU profile of the executable's `cri ps`, 10 runs \(0\.9 s sampled\)/);
  t.notRegex(lines, /Server CPU profile/);
});

test('the explanations file: one entry per `## suite: label` heading, to the next heading; the preface is not one', (t) => {
  const parsed = parseExplanations(
    [
      '# Why targets were missed',
      'Preface text, not an explanation.',
      '## scale: mutating p99, largest sqlite step',
      '',
      'SQLite commits: 8 % of the server.',
      '',
      '- a list item',
      '## exec: `kubectl exec` p50 / raw ExecSync p50',
      'kubectl starts in 60 ms.',
      '### a sub-heading stays inside',
    ].join('\n'),
  );
  t.deepEqual(parsed, {
    scale: { 'mutating p99, largest sqlite step': 'SQLite commits: 8 % of the server.\n\n- a list item' },
    exec: { '`kubectl exec` p50 / raw ExecSync p50': 'kubectl starts in 60 ms.\n### a sub-heading stays inside' },
  });
  // every label the file names is one the report checks: a typo would leave a miss unexplained
  const file = readFileSync(join(import.meta.dirname, '../../bench/report/miss-explanations.md'), 'utf8');
  for (const [suite, entries] of Object.entries(parseExplanations(file)))
    for (const label of Object.keys(entries))
      t.true(
        suiteChecks[suite]?.some((check) => check.label === label) ?? false,
        `miss-explanations.md names a check that does not exist: ${suite}: ${label}`,
      );
});

test("a miss shows its suite's own split of the time: pod start's steps, an nftables partial sync's parts", (t) => {
  const lines = missesSection(
    [
      {
        suite: 'pod-start',
        status: 'ran',
        result: {
          api_p50_ratio: 1.3,
          timeline: { pods: 50, steps: { toAgent: { p50: 32.04, p99: 107 }, sandbox: { p50: 1622, p99: 3006 } } },
        },
      },
      {
        suite: 'proxy-sync',
        status: 'ran',
        result: {
          partial_p99_ms: 10,
          nftables: {
            partial_p99_ms: 60,
            partial_apply_ms_p50_p99: [20, 50],
            partial_apply_cpu_ms_p50_p99: [0, 0],
            partial_own_cpu_ms_p50_p99: [4.4, 10.8],
            partial_payload_bytes_p50_p99: [471, 493],
          },
        },
      },
      { suite: 'exec', status: 'ran', result: { ratio: 3 } },
    ],
    (v, unit) => `${v} ${unit}`,
    {},
  ).join('\n');
  t.regex(
    lines,
    /Each API pod's start in steps \(50 pods[^\n]*\n\n\| step \| p50 \| p99 \|\n\|---\|---\|---\|\n\| toAgent \| 32 \| 107 \|\n\| sandbox \| 1622 \| 3006 \|/,
  );
  t.regex(
    lines,
    /\| nft -f, wall \| 20 \| 50 \| ms \|\n\| this process, CPU \(plan, render, start nft\) \| 4\.4 \| 10\.8 \| ms \|\n\| transaction size \| 471 \| 493 \| bytes \|/,
  );
  t.notRegex(lines, /nft -f, CPU/, 'a part the suite did not measure (or measured as 0) is left out');
  t.is(lines.match(/Each API pod's start/g)?.length, 1, "once, under the first of the suite's misses");
});

test('a network-policy miss shows one apply split into the commands it ran, beside the restore alone', (t) => {
  const lines = missesSection(
    [
      {
        suite: 'network-policy',
        status: 'ran',
        result: {
          ratio: 1.35,
          apply_ms: 350.8,
          restore_only_ms: 259.1,
          apply_commands_ms: { sh: 88.2, 'iptables-restore': 258 },
        },
      },
    ],
    (v, unit) => `${v} ${unit}`,
    {},
  ).join('\n');
  t.regex(
    lines,
    /\| the whole apply \| 350\.8 \|\n\| `sh` \| 88\.2 \|\n\| `iptables-restore` \| 258 \|\n\| `iptables-restore` of the same payload alone \| 259\.1 \|/,
  );
  const older = missesSection(
    [{ suite: 'network-policy', status: 'ran', result: { ratio: 1.35 } }],
    (v, unit) => `${v} ${unit}`,
    {},
  ).join('\n');
  t.notRegex(older, /One apply split/, 'a result from before the split adds no table');
});

test('the report shows where a kubectl exec goes, each step against the same run’s ExecSync', (t) => {
  const exec: SuiteOutcome = {
    suite: 'exec',
    status: 'ran',
    result: {
      kubectl_exec_p50_ms: 117,
      websocket_exec_p50_ms: 45,
      raw_execsync_p50_ms: 30,
      ratio: 3.9,
      kubectl_start_p50_ms: 50,
      kubectl_get_pod_p50_ms: 60,
      runtime_exec_p50_ms: 33,
      bosun_added_p50_ms: 12,
      kubectl_exec_by_release_p50_ms: { '1.30': 120, '1.35': 114 },
    },
  };
  const machine = { cores: 2, memoryGiB: 8, cpuModel: 'x', kernel: '6', os: 'Debian', loadAverage: [1, 1, 1] };
  const { markdown } = renderReport([exec], machine, new Date('2026-12-07T12:00:00Z'), false);
  t.true(markdown.includes('## Where a kubectl exec goes'));
  t.true(markdown.includes('| `kubectl version --client` (kubectl process start) | 50 ms | 1.67× |'));
  t.true(markdown.includes('| … of which bosun (API server, kubelet port, their connections) | 12 ms | 0.40× |'));
  t.true(markdown.includes('1.30 120 ms (4.00×), 1.35 114 ms (3.80×)'));
  // an exec result from before the breakdown existed adds no section
  const old = renderReport(
    [{ suite: 'exec', status: 'ran', result: { kubectl_exec_p50_ms: 117, raw_execsync_p50_ms: 30 } }],
    machine,
    new Date(),
    false,
  );
  t.false(old.markdown.includes('Where a kubectl exec goes'));
});
