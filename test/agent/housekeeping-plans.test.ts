import test from 'ava';
import { deadContainersToRemove } from '../../agent/eviction/dead-containers.ts';
import { evictionMessage, planPressure, rankForEviction, type PodUsage } from '../../agent/eviction/eviction-plan.ts';
import { parseThresholds, thresholdText } from '../../agent/eviction/thresholds.ts';
import {
  bytesToFree,
  chooseImagesToDelete,
  defaultGcPolicy,
  type ImageRecord,
} from '../../agent/images/image-gc-plan.ts';
import { planRotation, rotationStamp } from '../../agent/logs/rotation-plan.ts';
import type { Container } from '../../cri/types.ts';
import { admitPod } from '../../agent/pods/admission.ts';
import { pod, t0 } from './fixtures.ts';

const Mi = 1024 * 1024;

// -- log rotation

const log = '/var/log/pods/ns_p_u/app/0.log';

test('a log below max-size is left alone', (t) => {
  t.deepEqual(
    planRotation({ logPath: log, sizeBytes: 10 * Mi - 1, rotated: [], maxSizeBytes: 10 * Mi, maxFiles: 5, now: t0 }),
    [],
  );
});

test("rotation renames the live file with upstream's timestamp", (t) => {
  t.is(rotationStamp(Date.UTC(2026, 0, 2, 15, 4, 5)), '20260102-150405');
  t.deepEqual(
    planRotation({ logPath: log, sizeBytes: 10 * Mi, rotated: [], maxSizeBytes: 10 * Mi, maxFiles: 5, now: t0 }),
    [{ kind: 'rotate', from: log, to: `${log}.20260101-120000` }],
  );
});

test('rotation keeps max-files − 2 older files, compressed, and removes leftovers', (t) => {
  const rotated = [
    `${log}.20251231-100000.gz`,
    `${log}.20251231-110000.gz`,
    `${log}.20251231-120000.gz`,
    `${log}.20251231-130000`,
    `${log}.20251231-140000`,
    `${log}.20251231-140000.gz`,
    `${log}.20251231-150000.gz.tmp`,
  ];
  const steps = planRotation({
    logPath: log,
    sizeBytes: 11 * Mi,
    rotated,
    maxSizeBytes: 10 * Mi,
    maxFiles: 5,
    now: t0,
  });
  t.deepEqual(steps, [
    { kind: 'rotate', from: log, to: `${log}.20260101-120000` },
    { kind: 'remove', path: `${log}.20251231-140000` },
    { kind: 'remove', path: `${log}.20251231-150000.gz.tmp` },
    { kind: 'remove', path: `${log}.20251231-100000.gz` },
    { kind: 'remove', path: `${log}.20251231-110000.gz` },
    { kind: 'compress', path: `${log}.20251231-130000`, to: `${log}.20251231-130000.gz` },
  ]);
  // after it: the live file, the new rotated one and max-files − 2 compressed ones
  const left = rotated.filter((r) => !steps.some((s) => s.kind === 'remove' && s.path === r));
  t.is(left.length + 2, 5);
});

test('rotations within the same second get -<n> and still sort oldest first', (t) => {
  const second = planRotation({
    logPath: log,
    sizeBytes: 11 * Mi,
    rotated: [`${log}.20260101-120000`],
    maxSizeBytes: 10 * Mi,
    maxFiles: 5,
    now: t0 + 500,
  });
  t.deepEqual(second[0], { kind: 'rotate', from: log, to: `${log}.20260101-120000-1` });
  const third = planRotation({
    logPath: log,
    sizeBytes: 11 * Mi,
    rotated: [`${log}.20260101-120000.gz`, `${log}.20260101-120000-1`],
    maxSizeBytes: 10 * Mi,
    maxFiles: 3,
    now: t0 + 900,
  });
  t.deepEqual(third, [
    { kind: 'rotate', from: log, to: `${log}.20260101-120000-2` },
    // max-files 3 keeps one older file: the -1 one is newer than the plain stamp, so the plain one goes
    { kind: 'remove', path: `${log}.20260101-120000.gz` },
    { kind: 'compress', path: `${log}.20260101-120000-1`, to: `${log}.20260101-120000-1.gz` },
  ]);
});

// -- image GC

const image = (id: string, extra: Partial<ImageRecord> = {}): ImageRecord => ({
  id,
  names: [`localhost/${id}:1`],
  sizeBytes: 100 * Mi,
  firstDetected: t0,
  lastUsed: 0,
  inUse: false,
  pinned: false,
  ...extra,
});

test('image GC frees down to the low threshold only once over the high one', (t) => {
  t.is(bytesToFree(1000 * Mi, 151 * Mi, defaultGcPolicy), 0); // 84.9 % used
  t.is(bytesToFree(1000 * Mi, 150 * Mi, defaultGcPolicy), 50 * Mi); // 85 %: down to 80 %
});

test('image GC takes unused, unpinned, old enough images, least recently used first', (t) => {
  const now = t0 + 600_000;
  const images = [
    image('in-use', { inUse: true }),
    image('pause', { pinned: true }),
    image('fresh', { firstDetected: now - 60_000 }),
    image('used-lately', { lastUsed: now - 10_000 }),
    image('used-long-ago', { lastUsed: now - 500_000 }),
    image('never-used-old', { firstDetected: t0 - 1 }),
  ];
  t.deepEqual(
    chooseImagesToDelete(images, 150 * Mi, now, defaultGcPolicy.minAgeMs).map((i) => i.id),
    ['never-used-old', 'used-long-ago'],
  );
  t.deepEqual(
    chooseImagesToDelete(images, Infinity, now, defaultGcPolicy.minAgeMs).map((i) => i.id),
    ['never-used-old', 'used-long-ago', 'used-lately'],
  );
});

// -- eviction thresholds and ranking

test("--eviction-hard parses upstream's default and refuses nonsense in one line", (t) => {
  t.deepEqual(
    parseThresholds('memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%'),
    [
      { signal: 'memory.available', quantity: 100 * Mi },
      { signal: 'nodefs.available', fraction: 0.1 },
      { signal: 'nodefs.inodesFree', fraction: 0.05 },
      { signal: 'imagefs.available', fraction: 0.15 },
    ],
  );
  t.is(thresholdText({ signal: 'nodefs.available', fraction: 0.1 }), '10%');
  t.throws(() => parseThresholds('memory.available>1Gi'), { message: /is not <signal>/ });
  t.throws(() => parseThresholds('nodefs.available<120%'), { message: /between 0% and 100%/ });
  t.throws(() => parseThresholds('nodefs.available<lots'), { message: /is not a quantity/ });
  t.deepEqual(parseThresholds(''), []);
});

const thresholds = parseThresholds('memory.available<100Mi,nodefs.available<10%');

test('a met threshold sets the pressure, which holds for the transition period', (t) => {
  const low = {
    'nodefs.available': { available: 5 * Mi, capacity: 100 * Mi },
    'memory.available': { available: 8000 * Mi, capacity: 16000 * Mi },
  };
  const fine = {
    'nodefs.available': { available: 50 * Mi, capacity: 100 * Mi },
    'memory.available': { available: 8000 * Mi, capacity: 16000 * Mi },
  };
  const first = planPressure({ observations: low, thresholds, previous: {}, now: t0, transitionPeriodMs: 300_000 });
  t.deepEqual(first.conditions, { MemoryPressure: false, DiskPressure: true, PIDPressure: false });
  t.is(first.act?.resource, 'ephemeral-storage');
  t.true(first.act?.reclaimDisk);
  const later = planPressure({
    observations: fine,
    thresholds,
    previous: first.memory,
    now: t0 + 299_000,
    transitionPeriodMs: 300_000,
  });
  t.true(later.conditions.DiskPressure);
  t.is(later.act, undefined);
  const after = planPressure({
    observations: fine,
    thresholds,
    previous: later.memory,
    now: t0 + 300_000,
    transitionPeriodMs: 300_000,
  });
  t.false(after.conditions.DiskPressure);
});

test('memory is acted on before disk', (t) => {
  const both = {
    'nodefs.available': { available: 5 * Mi, capacity: 100 * Mi },
    'memory.available': { available: 50 * Mi, capacity: 16000 * Mi },
  };
  const plan = planPressure({ observations: both, thresholds, previous: {}, now: t0, transitionPeriodMs: 300_000 });
  t.is(plan.act?.resource, 'memory');
  t.false(plan.act?.reclaimDisk);
  t.deepEqual(plan.conditions, { MemoryPressure: true, DiskPressure: true, PIDPressure: false });
});

const usage = (
  name: string,
  priority: number,
  memory: number,
  memoryRequest: number,
  disk = 0,
  volumesDisk = 0,
): PodUsage => ({
  uid: `uid-${name}`,
  name,
  namespace: 'default',
  priority,
  volumesDisk,
  containers: [{ name: 'app', memory, memoryRequest, disk, diskRequest: 0 }],
});

test('memory ranking: over requests first, then lower priority, then usage above requests', (t) => {
  const pods = [
    usage('within-request', -10, 500 * Mi, 600 * Mi),
    usage('high-priority-over', 1000, 300 * Mi, 0),
    usage('small-over', 0, 50 * Mi, 0),
    usage('big-over', 0, 400 * Mi, 100 * Mi),
  ];
  t.deepEqual(
    rankForEviction(pods, 'memory').map((p) => p.name),
    ['big-over', 'small-over', 'high-priority-over', 'within-request'],
  );
});

test("disk ranking counts logs, writable layer and emptyDir; the message is upstream's", (t) => {
  const pods = [usage('logs', 0, 0, 0, 5 * Mi), usage('filler', 0, 0, 0, 1 * Mi, 58 * Mi)];
  const ranked = rankForEviction(pods, 'ephemeral-storage');
  t.deepEqual(
    ranked.map((p) => p.name),
    ['filler', 'logs'],
  );
  const met = { threshold: thresholds[1]!, observed: { available: 2 * Mi, capacity: 64 * Mi } };
  t.is(
    evictionMessage('ephemeral-storage', met, ranked[0]!),
    'The node was low on resource: ephemeral-storage. Threshold quantity: 6Mi (10%), available: 2Mi. Container app was using 1Mi, request is 0, has larger consumption of ephemeral-storage. Pod filler was using 58Mi in emptyDir volumes. ',
  );
});

test('exited containers go except the newest of each pod and name', (t) => {
  const container = (
    id: string,
    uid: string,
    name: string,
    createdAt: number,
    state: Container['state'] = 'CONTAINER_EXITED',
  ): Container => ({
    id,
    podSandboxId: 's',
    imageRef: 'i',
    imageId: 'i',
    state,
    createdAt,
    annotations: {},
    labels: { 'io.kubernetes.pod.uid': uid, 'io.kubernetes.container.name': name },
  });
  const removed = deadContainersToRemove([
    container('a1', 'a', 'app', 1),
    container('a2', 'a', 'app', 2),
    container('a3', 'a', 'app', 3, 'CONTAINER_RUNNING'),
    container('b1', 'b', 'app', 1),
    container('a-side', 'a', 'side', 1),
  ]);
  t.deepEqual(
    removed.map((c) => c.id),
    ['a1'],
  );
});

// -- admission under pressure

const node = { name: 'n1', labels: {}, taints: [], allocatable: { cpu: 4000, memory: 8 * 1024 * Mi, pods: 110 } };

test('under DiskPressure no pod is admitted; under MemoryPressure no BestEffort pod', (t) => {
  const bestEffort = pod();
  const burstable = pod({ containers: [{ name: 'app', image: 'i', resources: { requests: { memory: '10Mi' } } }] });
  t.deepEqual(admitPod(burstable, { ...node, pressure: { memory: false, disk: true } }, []), {
    admit: false,
    reason: 'Evicted',
    message: 'The node had condition: [DiskPressure]. ',
  });
  t.deepEqual(admitPod(bestEffort, { ...node, pressure: { memory: true, disk: false } }, []), {
    admit: false,
    reason: 'Evicted',
    message: 'The node had condition: [MemoryPressure]. ',
  });
  t.deepEqual(admitPod(burstable, { ...node, pressure: { memory: true, disk: false } }, []), { admit: true });
  const tolerant = pod({
    tolerations: [{ key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' }],
  });
  t.deepEqual(admitPod(tolerant, { ...node, pressure: { memory: true, disk: false } }, []), { admit: true });
});
