import test from 'ava';
import { faultKinds, scheduleFaults, seededRandom } from '../../bench/soak/faults.ts';
import { percentile, renderTable, summarizeByKind } from '../../bench/soak/report.ts';
import { renderReport } from '../../bench/report/report.ts';
import { flushPayload } from '../../bench/soak/executors.ts';

const nodes = ['node-1', 'node-2', 'node-3'];

test('the same seed gives the same faults; another seed another order', (t) => {
  const a = scheduleFaults({ seed: 26, count: 12, nodes });
  t.deepEqual(scheduleFaults({ seed: 26, count: 12, nodes }), a);
  t.notDeepEqual(
    scheduleFaults({ seed: 27, count: 12, nodes }).map((f) => `${f.kind} ${f.node}`),
    a.map((f) => `${f.kind} ${f.node}`),
  );
});

test('every kind comes once per round, per-node kinds name a node, cluster kinds none', (t) => {
  const faults = scheduleFaults({ seed: 5, count: 18, nodes });
  t.deepEqual(
    faults.map((f) => f.index),
    Array.from({ length: 18 }, (_, i) => i + 1),
  );
  for (let round = 0; round < 3; round++) {
    t.deepEqual(
      faults
        .slice(round * 6, round * 6 + 6)
        .map((f) => f.kind)
        .sort(),
      [...faultKinds].sort(),
    );
  }
  for (const f of faults) {
    if (f.kind === 'server-kill' || f.kind === 'write-burst') t.is(f.node, undefined);
    else t.true(nodes.includes(f.node!));
  }
  for (let i = 1; i < faults.length; i++)
    t.not(faults[i]!.kind, faults[i - 1]!.kind, `fault ${i + 1} repeats the one before`);
});

test('the PRNG is deterministic and stays in [0, 1)', (t) => {
  const a = seededRandom(1);
  const b = seededRandom(1);
  for (let i = 0; i < 1000; i++) {
    const x = a();
    t.is(x, b());
    t.true(x >= 0 && x < 1);
  }
});

test('recovery p50/p99 per kind count only faults that recovered', (t) => {
  t.is(percentile([5, 1, 3, 2, 4], 50), 3);
  t.is(percentile([5, 1, 3, 2, 4], 99), 5);
  const outcomes = [
    { fault: { index: 1, kind: 'agent-kill' as const, node: 'node-1' }, recoveryMs: 4000, problems: [] },
    { fault: { index: 2, kind: 'agent-kill' as const, node: 'node-2' }, recoveryMs: 2000, problems: [] },
    {
      fault: { index: 3, kind: 'server-kill' as const },
      problems: ['Deployment default/web: 1 of 3 pods Ready (3 pods)'],
    },
  ];
  t.deepEqual(summarizeByKind(outcomes), [
    { kind: 'agent-kill', count: 2, recovered: 2, p50_ms: 2000, p99_ms: 4000, max_ms: 4000 },
    { kind: 'server-kill', count: 1, recovered: 0 },
  ]);
  const table = renderTable(outcomes);
  t.regex(table, /agent-kill node-1 +4\.0 s/);
  t.regex(table, /server-kill +— +Deployment default\/web: 1 of 3 pods Ready/);
});

test('the benchmark report has a soak section with recovery per fault kind and the findings', (t) => {
  const md = renderReport(
    [
      {
        suite: 'soak',
        status: 'ran',
        result: {
          minutes: 10,
          seed: 26,
          faults: 2,
          recovered_pct: 50,
          worst_p99_recovery_s: 4,
          by_kind: {
            'agent-kill': { count: 1, recovered: 1, p50_ms: 4000, p99_ms: 4000, max_ms: 4000 },
            partition: { count: 1, recovered: 0 },
          },
          rss_mib: { server: { start: 100, end: 110 } },
          rss_bound_pct: 20,
          findings: ['partition node-2: Deployment soak/web: 2 of 3 pods Ready (3 pods)'],
        },
      },
    ],
    { cores: 2, memoryGiB: 8, cpuModel: 'cpu', kernel: 'k', os: 'os', loadAverage: [1, 1, 1] },
    new Date('2026-01-01T00:00:00Z'),
    false,
  ).markdown;
  t.regex(md, /\| soak \| faults after which every invariant held again within 120 s \| ≥ 100 % \| 50 % \| miss ❌ \|/);
  t.regex(md, /\| soak \| recovery p99, slowest fault kind \| ≤ 60 s \| 4 s \| pass ✅ \|/);
  t.regex(md, /## Fault soak\n\n10 minutes of faults \(seed 26/);
  t.regex(md, /\| agent-kill \| 1 \| 1 \| 4\.0 s \| 4\.0 s \| 4\.0 s \|/);
  t.regex(md, /\| partition \| 1 \| 0 \| — \| — \| — \|/);
  t.regex(md, /server 100 → 110 MiB/);
  t.regex(md, /- partition node-2: Deployment soak\/web: 2 of 3 pods Ready/);
});

test('the iptables fault empties every BOSUN- chain of each table in one commit, nothing else', (t) => {
  const saved = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':BOSUN-SERVICES - [0:0]',
    ':CNI-HOSTPORT-DNAT - [0:0]',
    ':BOSUN-PROXY-CANARY - [0:0]',
    '-A PREROUTING -j BOSUN-SERVICES',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':BOSUN-FORWARD - [0:0]',
    'COMMIT',
    '',
  ].join('\n');
  t.deepEqual(flushPayload(saved), {
    payload: '*nat\n-F BOSUN-SERVICES\n-F BOSUN-PROXY-CANARY\nCOMMIT\n*filter\n-F BOSUN-FORWARD\nCOMMIT\n',
    chains: 3,
  });
});
