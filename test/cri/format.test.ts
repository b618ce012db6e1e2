import test from 'ava';
import { mkdtempSync, writeFileSync, appendFileSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  displayState,
  humanAge,
  humanDuration,
  humanSize,
  renderTable,
  splitImageRef,
  truncateId,
} from '../../cri/format.ts';
import { resolveId } from '../../cri/resolve.ts';
import {
  filterContainers,
  filterImages,
  imageRows,
  parseContainerState,
  parsePodState,
  podOf,
} from '../../cri/listing.ts';
import { LineJoiner, parseLogRecord, parseSince, readLog, wholeLines } from '../../cri/logfile.ts';
import { containerStatsRows, cpuPercent } from '../../cri/stats.ts';
import { renderProgressBar, scanIngest, containerdRootFromInfo, ingestDir } from '../../cri/pull-progress.ts';
import type { CriError } from '../../cri/errors.ts';
import type { Container, Image, PodSandbox } from '../../cri/types.ts';

test('human durations use crictl wording', (t) => {
  t.is(humanDuration(500), 'Less than a second');
  t.is(humanDuration(1000), '1 second');
  t.is(humanDuration(17_000), '17 seconds');
  t.is(humanDuration(90_000), 'About a minute');
  t.is(humanDuration(45 * 60_000), '45 minutes');
  t.is(humanDuration(70 * 60_000), 'About an hour');
  t.is(humanDuration(5 * 3_600_000), '5 hours');
  t.is(humanDuration(3 * 86_400_000), '3 days');
  t.is(humanDuration(21 * 86_400_000), '3 weeks');
  t.is(humanDuration(100 * 86_400_000), '3 months');
  t.is(humanDuration(800 * 86_400_000), '2 years');
  t.is(humanAge(1_000_000_000 * 1e6, 1_000_000_000 + 17_000), '17 seconds ago');
});

test('sizes, IDs, states and image references', (t) => {
  t.is(humanSize(701664), '702kB');
  t.is(humanSize(2127492), '2.13MB');
  t.is(humanSize(999), '999B');
  t.is(humanSize(1_500_000_000), '1.5GB');
  t.is(truncateId('sha256:2bc4b6d34da87c86ec8b642aedc58e12'), '2bc4b6d34da87');
  t.is(truncateId('5daf57a790f59e5ed7d2dac1acfc4ac1'), '5daf57a790f59');
  t.is(displayState('CONTAINER_RUNNING'), 'Running');
  t.is(displayState('SANDBOX_NOTREADY'), 'NotReady');
  t.deepEqual(splitImageRef('localhost:5000/bosun/busybox:1.35'), {
    repo: 'localhost:5000/bosun/busybox',
    tag: '1.35',
  });
  t.deepEqual(splitImageRef('localhost:5000/x'), { repo: 'localhost:5000/x', tag: '<none>' });
  t.deepEqual(splitImageRef('x@sha256:ab'), { repo: 'x', tag: '<none>' });
  t.is(parseContainerState('running'), 'CONTAINER_RUNNING');
  t.is(parseContainerState('bogus'), undefined);
  t.is(parsePodState('NotReady'), 'SANDBOX_NOTREADY');
});

test('tables: cells at least 20 wide with 3 spaces of padding, last column unpadded', (t) => {
  const text = renderTable(
    ['A', 'LONG HEADER NAME HERE', 'C'],
    [
      ['x', 'y', 'z'],
      ['a-much-longer-cell-value', 'b', 'c'],
    ],
  );
  const lines = text.split('\n');
  t.is(lines[0], `${'A'.padEnd(27)}${'LONG HEADER NAME HERE'.padEnd(24)}C`);
  t.is(lines[1], `${'x'.padEnd(27)}${'y'.padEnd(24)}z`);
  t.is(lines[2], `${'a-much-longer-cell-value'.padEnd(27)}${'b'.padEnd(24)}c`);
});

test('ID prefixes: exact wins, a unique prefix resolves, an ambiguous one lists candidates', (t) => {
  const candidates = [
    { id: 'abc111', name: 'web' },
    { id: 'abc222', name: 'db' },
    { id: 'abc1', name: 'short' },
  ];
  t.is(resolveId('container', 'abc1', candidates), 'abc1');
  t.is(resolveId('container', 'abc2', candidates), 'abc222');
  const ambiguous = t.throws(() => resolveId('container', 'abc', candidates)) as CriError;
  t.is(ambiguous.code, 'BOSUN_CRI_AMBIGUOUS_ID');
  t.regex(ambiguous.message, /abc111 \(web\), abc222 \(db\), abc1 \(short\)/);
  t.is((t.throws(() => resolveId('pod', 'zzz', candidates)) as CriError).code, 'BOSUN_CRI_NOT_FOUND');
  t.is(resolveId('image', 'sha256:abc2', [{ id: 'sha256:abc222' }]), 'sha256:abc222');
});

const container = (id: string, name: string, createdAt: number, extra: Partial<Container> = {}): Container => ({
  id,
  podSandboxId: 'pod-1',
  metadata: { name, attempt: 0 },
  imageRef: 'sha256:aaa',
  state: 'CONTAINER_RUNNING',
  createdAt,
  labels: {},
  annotations: {},
  imageId: '',
  ...extra,
});

test('container filters: regex name, namespace from the sandbox, labels, newest first, latest/last', (t) => {
  const sandboxes = new Map<string, PodSandbox>([
    [
      'pod-1',
      {
        id: 'pod-1',
        metadata: { name: 'web', namespace: 'shop', uid: 'u', attempt: 0 },
        state: 'SANDBOX_READY',
        createdAt: 0,
        labels: {},
        annotations: {},
        runtimeHandler: '',
      },
    ],
  ]);
  const list = [
    container('c1', 'nginx', 1, { labels: { tier: 'front' } }),
    container('c2', 'sidecar', 3),
    container('c3', 'nginx-exporter', 2, {
      podSandboxId: 'pod-2',
      labels: { 'io.kubernetes.pod.namespace': 'ops', 'io.kubernetes.pod.name': 'mon' },
    }),
  ];
  const ids = (filters: Parameters<typeof filterContainers>[2]) =>
    filterContainers(list, sandboxes, filters).map((c) => c.id);
  t.deepEqual(ids({}), ['c2', 'c3', 'c1']);
  t.deepEqual(ids({ name: '^nginx' }), ['c3', 'c1']);
  t.deepEqual(ids({ namespace: '^shop$' }), ['c2', 'c1']);
  t.deepEqual(ids({ labels: { tier: 'front' } }), ['c1']);
  t.deepEqual(ids({ latest: true }), ['c2']);
  t.deepEqual(ids({ last: 2 }), ['c2', 'c3']);
  t.deepEqual(podOf(list[0]!, sandboxes), { name: 'web', namespace: 'shop' });
  t.deepEqual(podOf(list[2]!, sandboxes), { name: 'mon', namespace: 'ops' });
  t.deepEqual(podOf(container('x', 'x', 0, { podSandboxId: 'nowhere' }), sandboxes), {
    name: 'unknown',
    namespace: 'unknown',
  });
});

test('image rows: one per tag, untagged images show <none>, filter by repository', (t) => {
  const images: Image[] = [
    {
      id: 'sha256:1111111111111111',
      repoTags: ['localhost/a:1', 'localhost/a:latest'],
      repoDigests: ['localhost/a@sha256:dd'],
      size: 2127492,
      username: '',
      pinned: false,
      imageSource: '',
    },
    {
      id: 'sha256:2222222222222222',
      repoTags: [],
      repoDigests: ['localhost/b@sha256:ee'],
      size: 999,
      username: '',
      pinned: false,
      imageSource: '',
    },
  ];
  t.deepEqual(imageRows(images), [
    ['localhost/a', '1', '1111111111111', '2.13MB'],
    ['localhost/a', 'latest', '1111111111111', '2.13MB'],
    ['localhost/b', '<none>', '2222222222222', '999B'],
  ]);
  t.deepEqual(
    filterImages(images, 'localhost/a').map((i) => i.id),
    ['sha256:1111111111111111'],
  );
  t.deepEqual(
    filterImages(images, 'a').map((i) => i.id),
    ['sha256:1111111111111111'],
  );
  t.deepEqual(
    filterImages(images, 'a:latest').map((i) => i.id),
    ['sha256:1111111111111111'],
  );
  t.deepEqual(
    filterImages(images, 'a:2').map((i) => i.id),
    [],
  );
  t.deepEqual(
    filterImages(images, '2222').map((i) => i.id),
    ['sha256:2222222222222222'],
  );
});

test('log records: parse, join partial lines per stream, skip garbage', (t) => {
  t.deepEqual(parseLogRecord('2026-11-22T01:03:21.123456789Z stderr F oops: x y'), {
    time: '2026-11-22T01:03:21.123456789Z',
    timeMs: Date.parse('2026-11-22T01:03:21.123Z'),
    stream: 'stderr',
    partial: false,
    message: 'oops: x y',
  });
  t.is(parseLogRecord('not a log line'), undefined);
  t.is(parseLogRecord('2026-11-22T01:03:21Z stdin F x'), undefined);
  const joiner = new LineJoiner();
  t.is(joiner.push(parseLogRecord('2026-11-22T01:00:00Z stdout P hel')!), undefined);
  t.is(joiner.push(parseLogRecord('2026-11-22T01:00:01Z stderr F err')!)?.message, 'err');
  const line = joiner.push(parseLogRecord('2026-11-22T01:00:02Z stdout F lo')!);
  t.deepEqual([line?.message, line?.time], ['hello', '2026-11-22T01:00:00Z']);
  t.deepEqual(
    wholeLines('2026-11-22T01:00:00Z stdout F a\ngarbage\n2026-11-22T01:00:00Z stdout F \n').map((l) => l.message),
    ['a', ''],
  );
});

test('--since accepts durations and times', (t) => {
  const now = Date.parse('2026-11-22T01:00:00Z');
  t.is(parseSince('30s', now), now - 30_000);
  t.is(parseSince('1h30m', now), now - 5_400_000);
  t.is(parseSince('2026-11-22T00:00:00Z', now), now - 3_600_000);
  t.is(parseSince('yesterday', now), undefined);
});

function sinks() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    sink: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out,
    err,
  };
}

test('readLog: tail, since, timestamps and the split between stdout and stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `bosun-cri-log-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  writeFileSync(
    path,
    [
      '2026-11-22T01:00:00Z stdout F one',
      '2026-11-22T01:00:01Z stderr F two',
      '2026-11-22T01:00:02Z stdout P thr',
      '2026-11-22T01:00:03Z stdout F ee',
      '',
    ].join('\n'),
  );
  const a = sinks();
  await readLog(path, a.sink, { tail: 2 });
  t.deepEqual([a.out, a.err], [['three\n'], ['two\n']]);
  const b = sinks();
  await readLog(path, b.sink, { sinceMs: Date.parse('2026-11-22T01:00:01Z'), timestamps: true });
  t.deepEqual(b.out, ['2026-11-22T01:00:02Z three\n']);
  t.deepEqual(b.err, ['2026-11-22T01:00:01Z two\n']);
});

test('readLog follows appends and a rotation, and stops when the writer has stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `bosun-cri-log-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  writeFileSync(path, '2026-11-22T01:00:00Z stdout F first\n');
  const { sink, out } = sinks();
  let writing = true;
  const waitFor = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`never happened: ${what}; got ${JSON.stringify(out)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const following = readLog(path, sink, {
    follow: true,
    pollMs: 20,
    stillWriting: async () => writing,
    signal: stop.signal,
  });
  await waitFor('first line', () => out.length === 1);
  // A record cut mid-way by the writer, then a partial record completed by the next one.
  appendFileSync(path, '2026-11-22T01:00:01Z stdout F second\n2026-11-22T01:00:02Z stdout P pa');
  await waitFor('second line', () => out.length === 2);
  appendFileSync(path, 'r\n2026-11-22T01:00:03Z stdout F tial\n');
  renameSync(path, `${path}.20261122-010003`);
  writeFileSync(path, '2026-11-22T01:00:04Z stdout F after rotation\n');
  await waitFor('lines across the rotation', () => out.length === 4);
  writing = false;
  await following;
  t.deepEqual(out, ['first\n', 'second\n', 'partial\n', 'after rotation\n']);
});

test('CPU %: core-nanoseconds used over nanoseconds elapsed', (t) => {
  t.is(
    cpuPercent(
      { timestamp: 0, usageCoreNanoSeconds: { value: 0 } },
      { timestamp: 1e9, usageCoreNanoSeconds: { value: 5e8 } },
    ),
    50,
  );
  t.is(cpuPercent(undefined, { timestamp: 1e9 }), undefined);
});

test('pull progress: sums what arrived against the totals in the ingest folder', async (t) => {
  const root = mkdtempSync(join(tmpdir(), `bosun-cri-ingest-${process.pid}-`));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = ingestDir(root);
  t.deepEqual(await scanIngest(dir), { done: 0, total: 0, layers: 0 });
  for (const [name, size, total] of [
    ['a', 500, 1000],
    ['b', 1500, 3000],
  ] as const) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'data'), Buffer.alloc(size));
    writeFileSync(join(dir, name, 'total'), String(total));
  }
  const progress = await scanIngest(dir);
  t.deepEqual(progress, { done: 2000, total: 4000, layers: 2 });
  t.is(renderProgressBar(progress, 10), '[#####-----] 2kB / 4kB  2 layers');
  t.is(
    containerdRootFromInfo({ config: JSON.stringify({ containerdRootDir: '/var/lib/containerd' }) }),
    '/var/lib/containerd',
  );
  t.is(containerdRootFromInfo({}), undefined);
});

test('stats rows: sorted by name, CPU % against the same container in the first sample', (t) => {
  const sample = (id: string, name: string, at: number, used: number, memory: number) => ({
    attributes: { id, metadata: { name, attempt: 0 }, labels: {}, annotations: {} },
    cpu: { timestamp: at, usageCoreNanoSeconds: { value: used } },
    memory: { timestamp: at, workingSetBytes: { value: memory } },
    writableLayer: { timestamp: at, usedBytes: { value: 4096 }, inodesUsed: { value: 7 } },
  });
  const first = [sample('b'.repeat(64), 'web', 0, 0, 0), sample('a'.repeat(64), 'burner', 0, 0, 0)];
  const second = [
    sample('b'.repeat(64), 'web', 1e9, 1e7, 2_500_000),
    sample('a'.repeat(64), 'burner', 1e9, 9e8, 1000),
    sample('c'.repeat(64), 'new', 1e9, 5, 0),
  ];
  t.deepEqual(containerStatsRows(first, second), [
    ['a'.repeat(13), 'burner', '90.00', '1kB', '4.1kB', '7'],
    ['c'.repeat(13), 'new', '-', '0B', '4.1kB', '7'],
    ['b'.repeat(13), 'web', '1.00', '2.5MB', '4.1kB', '7'],
  ]);
});
