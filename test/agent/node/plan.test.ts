/**
 * Node registration and status as a pure plan: what is created, which labels are patched, when
 * the status is written (on change, and for the heartbeat every 5 min) and what the conditions
 * say. Plus the flag parsers and the status loop over a fake API with a manual clock.
 */
import test from 'ava';
import { pino } from 'pino';
import type { Node, NodeStatus } from '../../../kube/corev1.ts';
import { instanceTypeOf, type HostFacts, type PressureSignals } from '../../../agent/node/host-facts.ts';
import type { RuntimeHealth } from '../../../agent/node/node-conditions.ts';
import {
  addReserved,
  nothingReserved,
  parseNodeLabels,
  parseReserved,
  parseTaints,
} from '../../../agent/node/node-flags.ts';
import { apiTime } from '../../../kube/api-time.ts';
import { planNode, type NodeObservation, type NodePlan, type NodeSettings } from '../../../agent/node/node-plan.ts';
import { NodeStatusLoop, type NodeApi } from '../../../agent/node/node-status-loop.ts';
import { ManualClock } from '../manual-clock.ts';
import { t0, sec } from '../fixtures.ts';

const Gi = 1024 ** 3;
const Mi = 1024 ** 2;

const host: HostFacts = {
  cpuCores: 2,
  memoryBytes: 4 * Gi,
  hugepages: {},
  machineID: 'm-1',
  systemUUID: 'u-1',
  bootID: 'b-1',
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  operatingSystem: 'linux',
  architecture: 'amd64',
};

const calm: PressureSignals = {
  memoryAvailableBytes: 2 * Gi,
  nodefs: {
    mount: '/var/lib',
    capacityBytes: 100 * Gi,
    availableBytes: 60 * Gi,
    inodes: 1_000_000,
    inodesFree: 900_000,
  },
  pidMax: 32_768,
  pidsInUse: 300,
};

const healthy: RuntimeHealth = { reachable: true, runtimeReady: true, networkReady: true, message: '' };

const settings: NodeSettings = {
  nodeName: 'node-1',
  nodeIP: '172.30.0.11',
  labels: { role: 'edge' },
  taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
  maxPods: 110,
  reserved: addReserved(parseReserved('system-reserved', 'cpu=100m,memory=256Mi'), nothingReserved),
  kubeletPort: 10250,
  kubeletVersion: 'v0.1.0',
};

function seen(over: Partial<NodeObservation> = {}): NodeObservation {
  return {
    host,
    signals: calm,
    runtime: healthy,
    runtimeVersion: 'containerd://1.6.20',
    images: [{ names: ['localhost/bosun/pause:3.10'], sizeBytes: 500_000 }],
    ...over,
  };
}

/** The Node as a server holds it after the plan was carried out. */
function applied(plan: NodePlan, current?: Node): Node {
  if (plan.kind === 'create') return structuredClone(plan.node);
  const node = structuredClone(current!);
  if (plan.labels) node.metadata.labels = { ...node.metadata.labels, ...plan.labels };
  if (plan.status) node.status = structuredClone(plan.status);
  return node;
}

const condition = (status: NodeStatus | undefined, type: string) => status?.conditions?.find((c) => c.type === type);

test('no Node yet: it is created with labels, taints, resources, addresses and node info', (t) => {
  const plan = planNode(settings, seen(), undefined, t0);
  if (plan.kind !== 'create') return t.fail('expected a create');
  const { metadata, spec, status } = plan.node;
  t.like(metadata.labels, {
    'kubernetes.io/hostname': 'node-1',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    role: 'edge',
  });
  t.deepEqual(spec?.taints, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  t.deepEqual(status?.capacity, { cpu: '2', memory: '4194304Ki', 'ephemeral-storage': '104857600Ki', pods: '110' });
  // allocatable = capacity - reserved - the hard eviction threshold (memory 100Mi, nodefs 10 %)
  t.deepEqual(status?.allocatable, {
    cpu: '1900m',
    memory: `${(4 * Gi - 256 * Mi - 100 * Mi) / 1024}Ki`,
    'ephemeral-storage': `${(90 * Gi) / 1024}Ki`,
    pods: '110',
  });
  t.deepEqual(status?.addresses, [
    { type: 'InternalIP', address: '172.30.0.11' },
    { type: 'Hostname', address: 'node-1' },
  ]);
  t.is(status?.nodeInfo?.containerRuntimeVersion, 'containerd://1.6.20');
  t.is(status?.nodeInfo?.kubeletVersion, 'v0.1.0');
  t.is(status?.nodeInfo?.bootID, 'b-1');
  t.is(status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
  t.deepEqual(
    status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
    [
      'MemoryPressure=False/KubeletHasSufficientMemory',
      'DiskPressure=False/KubeletHasNoDiskPressure',
      'PIDPressure=False/KubeletHasSufficientPID',
      'Ready=True/KubeletReady',
    ],
  );
  t.true(status?.conditions?.every((c) => c.lastHeartbeatTime === apiTime(t0) && c.lastTransitionTime === apiTime(t0)));
});

test('the instance type label comes from the firmware where a cloud names it there, and only then', (t) => {
  t.deepEqual(instanceTypeOf('Amazon EC2', 'm5.large'), { instanceType: 'm5.large' });
  t.deepEqual(instanceTypeOf('Google', 'Google Compute Engine'), {});
  t.deepEqual(instanceTypeOf('QEMU', 'Standard PC (i440FX + PIIX, 1996)'), {});
  const withType = planNode(settings, { ...seen(), host: { ...host, instanceType: 'm5.large' } }, undefined, t0);
  if (withType.kind !== 'create') return t.fail('expected a create');
  t.like(withType.node.metadata.labels, {
    'node.kubernetes.io/instance-type': 'm5.large',
    'beta.kubernetes.io/instance-type': 'm5.large',
  });
  const without = planNode(settings, seen(), undefined, t0);
  if (without.kind !== 'create') return t.fail('expected a create');
  t.false('node.kubernetes.io/instance-type' in (without.node.metadata.labels ?? {}));
});

test('huge pages are their own resources and leave allocatable memory', (t) => {
  const plan = planNode(settings, seen({ host: { ...host, hugepages: { '2Mi': 512 * Mi } } }), undefined, t0);
  if (plan.kind !== 'create') return t.fail('expected a create');
  t.is(plan.node.status?.capacity?.['hugepages-2Mi'], '524288Ki');
  t.is(plan.node.status?.allocatable?.memory, `${(4 * Gi - 256 * Mi - 100 * Mi - 512 * Mi) / 1024}Ki`);
});

const rows: {
  title: string;
  later: number;
  change?: Partial<NodeObservation>;
  writes: boolean;
  why?: string[];
  check?: (t: import('ava').ExecutionContext, status: NodeStatus, before: NodeStatus) => void;
}[] = [
  { title: 'nothing changed, 10 s later: nothing is written', later: 10, writes: false },
  { title: 'nothing changed, 4 min 50 s later: still nothing', later: 290, writes: false },
  {
    title: 'nothing changed, 5 min later: the heartbeat is written, transitions kept',
    later: 300,
    writes: true,
    why: ['heartbeat due'],
    check: (t, status) => {
      t.is(condition(status, 'Ready')?.lastHeartbeatTime, apiTime(sec(300)));
      t.is(condition(status, 'Ready')?.lastTransitionTime, apiTime(t0));
    },
  },
  {
    title: 'the runtime stops answering: Ready=False at once, with the reason',
    later: 10,
    writes: true,
    change: { runtime: { reachable: false, message: 'connect ECONNREFUSED /run/containerd/containerd.sock' } },
    why: ['changed: conditions'],
    check: (t, status) => {
      const ready = condition(status, 'Ready');
      t.like(ready, {
        status: 'False',
        reason: 'KubeletNotReady',
        lastTransitionTime: apiTime(sec(10)),
        lastHeartbeatTime: apiTime(sec(10)),
      });
      t.regex(ready?.message ?? '', /container runtime is down: connect ECONNREFUSED/);
      t.is(condition(status, 'MemoryPressure')?.lastTransitionTime, apiTime(t0));
    },
  },
  {
    title: 'the runtime answers but its network is not ready: Ready=False',
    later: 10,
    writes: true,
    change: {
      runtime: {
        reachable: true,
        runtimeReady: true,
        networkReady: false,
        message: 'NetworkReady=false reason:NetworkPluginNotReady',
      },
    },
    check: (t, status) => t.regex(condition(status, 'Ready')?.message ?? '', /network not ready: NetworkReady=false/),
  },
  {
    title: 'memory below 100Mi available: MemoryPressure',
    later: 10,
    writes: true,
    change: { signals: { ...calm, memoryAvailableBytes: 50 * Mi } },
    check: (t, status) =>
      t.like(condition(status, 'MemoryPressure'), { status: 'True', reason: 'KubeletHasInsufficientMemory' }),
  },
  {
    title: 'less memory but above the threshold: no write (messages carry no live numbers)',
    later: 10,
    writes: false,
    change: { signals: { ...calm, memoryAvailableBytes: 1 * Gi } },
  },
  {
    title: 'nodefs under 10 % free: DiskPressure naming the filesystem',
    later: 10,
    writes: true,
    change: { signals: { ...calm, nodefs: { ...calm.nodefs, availableBytes: 5 * Gi } } },
    check: (t, status) => {
      t.like(condition(status, 'DiskPressure'), { status: 'True', reason: 'KubeletHasDiskPressure' });
      t.regex(condition(status, 'DiskPressure')?.message ?? '', /nodefs \/var\/lib has less than 10% space free/);
    },
  },
  {
    title: 'inodes under 5 % free: DiskPressure',
    later: 10,
    writes: true,
    change: { signals: { ...calm, nodefs: { ...calm.nodefs, inodesFree: 10_000 } } },
    check: (t, status) => t.regex(condition(status, 'DiskPressure')?.message ?? '', /inodes free/),
  },
  {
    title: 'process IDs nearly used up: PIDPressure',
    later: 10,
    writes: true,
    change: { signals: { ...calm, pidsInUse: 32_000 } },
    check: (t, status) =>
      t.like(condition(status, 'PIDPressure'), { status: 'True', reason: 'KubeletHasInsufficientPID' }),
  },
  {
    title: 'a new image: the image list is written',
    later: 10,
    writes: true,
    why: ['changed: images'],
    change: {
      images: [
        { names: ['localhost/bosun/pause:3.10'], sizeBytes: 500_000 },
        { names: ['localhost/bosun/busybox:1.35'], sizeBytes: 900_000 },
      ],
    },
    check: (t, status) =>
      t.deepEqual(
        status.images?.map((i) => i.names?.[0]),
        ['localhost/bosun/busybox:1.35', 'localhost/bosun/pause:3.10'],
      ),
  },
  {
    title: 'containerd upgraded: nodeInfo is written',
    later: 10,
    writes: true,
    why: ['changed: nodeInfo'],
    change: { runtimeVersion: 'containerd://1.7.0' },
  },
];

for (const row of rows) {
  test(`status: ${row.title}`, (t) => {
    const node = applied(planNode(settings, seen(), undefined, t0));
    const plan = planNode(settings, seen(row.change), node, sec(row.later));
    if (plan.kind !== 'update') return t.fail('expected an update');
    t.is(plan.labels, undefined);
    t.is(plan.status !== undefined, row.writes, `why: ${plan.why.join(', ')}`);
    if (row.why) t.deepEqual(plan.why, row.why);
    if (plan.status) row.check?.(t, plan.status, node.status!);
  });
}

test("a node shutting down turns NotReady with the kubelet's message", (t) => {
  const plan = planNode(settings, seen({ shuttingDown: true }), undefined, t0);
  if (plan.kind !== 'create') return t.fail('expected a create');
  t.like(
    plan.node.status?.conditions?.find((c) => c.type === 'Ready'),
    { status: 'False', reason: 'KubeletNotReady', message: 'node is shutting down' },
  );
});

test('a recovered runtime turns Ready back True with a new transition time', (t) => {
  const up = applied(planNode(settings, seen(), undefined, t0));
  const down = applied(planNode(settings, seen({ runtime: { reachable: false, message: 'gone' } }), up, sec(10)), up);
  const plan = planNode(settings, seen(), down, sec(20));
  if (plan.kind !== 'update') return t.fail('expected an update');
  t.like(condition(plan.status, 'Ready'), { status: 'True', lastTransitionTime: apiTime(sec(20)) });
});

test('labels: only ours that differ are patched; taints are never put back after registration', (t) => {
  const node = applied(planNode(settings, seen(), undefined, t0));
  node.metadata.labels = { ...node.metadata.labels, team: 'blue', role: 'core' };
  node.spec = {};
  const plan = planNode(settings, seen(), node, sec(10));
  if (plan.kind !== 'update') return t.fail('expected an update');
  t.deepEqual(plan.labels, { role: 'edge' });
  t.is(plan.status, undefined);
});

test('a server that stores quantities in another spelling does not cause writes', (t) => {
  const node = applied(planNode(settings, seen(), undefined, t0));
  node.status!.capacity = { ...node.status!.capacity, memory: String(4 * Gi), cpu: '2000m' };
  const plan = planNode(settings, seen(), node, sec(10));
  t.is(plan.kind === 'update' ? plan.status : 'create', undefined);
});

test('images: the 50 largest, at most 5 names each', (t) => {
  const images = Array.from({ length: 60 }, (_, i) => ({
    names: Array.from({ length: 7 }, (_, n) => `img-${i}:${n}`),
    sizeBytes: (i + 1) * 1000,
  }));
  const plan = planNode(settings, seen({ images }), undefined, t0);
  if (plan.kind !== 'create') return t.fail('expected a create');
  const listed = plan.node.status?.images ?? [];
  t.is(listed.length, 50);
  t.is(listed[0]?.sizeBytes, 60_000);
  t.is(listed[49]?.sizeBytes, 11_000);
  t.true(listed.every((i) => i.names?.length === 5));
});

test('persistent volumes in use are reported as volumesInUse and volumesAttached, and only a change writes', (t) => {
  const volumes = [
    { name: 'kubernetes.io/local-volume/pvc-b', path: '/var/lib/bosun/storage/pvc-b' },
    { name: 'kubernetes.io/local-volume/pvc-a', path: '/var/lib/bosun/storage/pvc-a' },
  ];
  const node = applied(planNode(settings, seen(), undefined, t0));
  const plan = planNode(settings, seen({ volumes }), node, sec(10));
  if (plan.kind !== 'update') return t.fail('expected an update');
  t.deepEqual(plan.why, ['changed: volumesInUse', 'changed: volumesAttached']);
  t.deepEqual(plan.status?.volumesInUse, ['kubernetes.io/local-volume/pvc-a', 'kubernetes.io/local-volume/pvc-b']);
  t.deepEqual(plan.status?.volumesAttached?.[0], {
    name: 'kubernetes.io/local-volume/pvc-a',
    devicePath: '/var/lib/bosun/storage/pvc-a',
  });
  const written = applied(plan, node);
  const again = planNode(settings, seen({ volumes: [...volumes].reverse() }), written, sec(20));
  t.is(again.kind === 'update' ? again.status : 'create', undefined, 'the same volumes in another order: no write');
  const gone = planNode(settings, seen({ volumes: [] }), written, sec(30));
  t.deepEqual(gone.kind === 'update' ? gone.status?.volumesInUse : undefined, []);
});

test('volumesInUse is ordered by code units, as upstream sorts its unique volume names, whatever the locale', (t) => {
  // a locale-aware order puts "pvc-a" before "PVC-B" and "pvc_c" before "pvc-d"; Go's sort does not
  const names = [
    'kubernetes.io/local-volume/pvc-a',
    'kubernetes.io/local-volume/PVC-B',
    'kubernetes.io/local-volume/pvc_c',
    'kubernetes.io/local-volume/pvc-d',
  ];
  const node = applied(planNode(settings, seen(), undefined, t0));
  const plan = planNode(
    settings,
    seen({ volumes: names.map((name) => ({ name, path: `/v/${name}` })) }),
    node,
    sec(10),
  );
  if (plan.kind !== 'update') return t.fail('expected an update');
  t.deepEqual(plan.status?.volumesInUse, [...names].sort());
  t.deepEqual(plan.status?.volumesInUse, [
    'kubernetes.io/local-volume/PVC-B',
    'kubernetes.io/local-volume/pvc-a',
    'kubernetes.io/local-volume/pvc-d',
    'kubernetes.io/local-volume/pvc_c',
  ]);
});

test('flags: labels, taints and reserved resources parse as the kubelet spells them', (t) => {
  t.deepEqual(parseNodeLabels('a=b, example.com/zone=z1,empty='), { a: 'b', 'example.com/zone': 'z1', empty: '' });
  t.deepEqual(parseTaints('dedicated=db:NoSchedule,gpu:NoExecute'), [
    { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
    { key: 'gpu', effect: 'NoExecute' },
  ]);
  t.deepEqual(parseReserved('kube-reserved', 'cpu=0.5,memory=1Gi,ephemeral-storage=10Gi,pid=100'), {
    cpuMilli: 500,
    memoryBytes: Gi,
    ephemeralStorageBytes: 10 * Gi,
    pids: 100,
  });
  t.throws(() => parseNodeLabels('novalue'), { message: /--node-labels: 'novalue' is not key=value/ });
  t.throws(() => parseNodeLabels('bad key=x'), { message: /not a label key/ });
  t.throws(() => parseTaints('a=b'), { message: /has no :effect/ });
  t.throws(() => parseTaints('a=b:Sometimes'), { message: /effect 'Sometimes'/ });
  t.throws(() => parseReserved('system-reserved', 'gpu=1'), { message: /'gpu' cannot be reserved/ });
  t.throws(() => parseReserved('system-reserved', 'memory=lots'), { message: /memory=lots is not a quantity/ });
});

test('flags: --node-labels refuses kubernetes.io and k8s.io labels the API server would not let the node set', (t) => {
  t.deepEqual(
    parseNodeLabels(
      'node.kubernetes.io/pool=a,kubelet.kubernetes.io/x=y,topology.kubernetes.io/zone=z,example.com/role=db',
    ),
    {
      'node.kubernetes.io/pool': 'a',
      'kubelet.kubernetes.io/x': 'y',
      'topology.kubernetes.io/zone': 'z',
      'example.com/role': 'db',
    },
  );
  const error = t.throws(() =>
    parseNodeLabels('node-role.kubernetes.io/worker=,x.k8s.io/a=b,node-restriction.kubernetes.io/pool=gold'),
  );
  t.is(
    error?.message.split('\n')[0],
    "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-restriction.kubernetes.io/pool node-role.kubernetes.io/worker x.k8s.io/a]",
  );
  t.regex(error?.message ?? '', /must begin with an allowed prefix \(kubelet\.kubernetes\.io, node\.kubernetes\.io\)/);
});

class FakeNodeApi implements NodeApi {
  node: Node | undefined;
  writes: string[] = [];
  dropStatusOnCreate = true;
  async get(_name?: string): Promise<Node | undefined> {
    return structuredClone(this.node);
  }
  async create(node: Node): Promise<Node> {
    this.writes.push('create');
    this.node = { ...structuredClone(node), metadata: { ...node.metadata, uid: 'node-uid' } };
    if (this.dropStatusOnCreate) delete this.node.status;
    return structuredClone(this.node);
  }
  async patchLabels(_name: string, labels: Record<string, string>): Promise<Node> {
    this.writes.push('labels');
    this.node!.metadata.labels = { ...this.node!.metadata.labels, ...labels };
    return structuredClone(this.node!);
  }
  async patchStatus(_name: string, status: NodeStatus): Promise<Node> {
    this.writes.push('status');
    this.node!.status = structuredClone(status);
    return structuredClone(this.node!);
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

test('status loop: registers, then writes only on change and every 5 min', async (t) => {
  const clock = new ManualClock(t0);
  const api = new FakeNodeApi();
  let observation = seen();
  const loop = new NodeStatusLoop({
    api,
    settings,
    observe: async () => observation,
    clock,
    log: pino({ level: 'silent' }),
  });
  const abort = new AbortController();
  const node = await loop.register(abort.signal);
  t.is(node.metadata.uid, 'node-uid');
  t.deepEqual(
    api.writes,
    ['create', 'status'],
    'a server that drops status on create gets it through the status subresource',
  );
  const running = loop.run(abort.signal);
  for (let i = 0; i < 24; i++) {
    clock.advance(10_000);
    await flush();
  }
  t.deepEqual(api.writes, ['create', 'status'], 'four idle minutes: no writes');
  for (let i = 0; i < 6; i++) {
    clock.advance(10_000);
    await flush();
  }
  t.deepEqual(api.writes, ['create', 'status', 'status'], 'the five-minute heartbeat');
  observation = seen({ runtime: { reachable: false, message: 'deadline exceeded' } });
  clock.advance(10_000);
  await flush();
  t.is(api.writes.length, 4);
  t.is(condition(api.node?.status, 'Ready')?.status, 'False');
  abort.abort();
  await running;
});

test('status loop: registration retries until the API answers', async (t) => {
  const clock = new ManualClock(t0);
  const api = new FakeNodeApi();
  let failures = 3;
  const flaky: NodeApi = {
    ...api,
    get: async (name) => {
      if (failures-- > 0) throw new Error('connection refused');
      return api.get(name);
    },
    create: (n) => api.create(n),
    patchLabels: (n, l) => api.patchLabels(n, l),
    patchStatus: (n, s) => api.patchStatus(n, s),
  };
  const loop = new NodeStatusLoop({
    api: flaky,
    settings,
    observe: async () => seen(),
    clock,
    log: pino({ level: 'silent' }),
  });
  const registering = loop.register(new AbortController().signal);
  for (let i = 0; i < 4; i++) {
    await flush();
    clock.advance(2_000);
  }
  const node = await registering;
  t.is(node.metadata.name, 'node-1');
  t.is(failures, -1);
});

/** A NodeApi over `api` whose reads fail while `link.reachable` is false (a partition). */
function partitionable(api: FakeNodeApi): { partitioned: NodeApi; link: { reachable: boolean } } {
  const link = { reachable: true };
  const partitioned: NodeApi = {
    get: async (name) => {
      if (!link.reachable) throw new Error('connect ETIMEDOUT');
      return api.get(name);
    },
    create: (n) => api.create(n),
    patchLabels: (n, l) => api.patchLabels(n, l),
    patchStatus: (n, s) => api.patchStatus(n, s),
  };
  return { partitioned, link };
}

test('status loop: once the API answers again after a partition, the status is written within a second, not a round later', async (t) => {
  const clock = new ManualClock(t0);
  const api = new FakeNodeApi();
  const { partitioned, link } = partitionable(api);
  const loop = new NodeStatusLoop({
    api: partitioned,
    settings,
    observe: async () => seen(),
    clock,
    log: pino({ level: 'silent' }),
  });
  const abort = new AbortController();
  await loop.register(abort.signal);
  const running = loop.run(abort.signal);
  link.reachable = false;
  clock.advance(10_000);
  await flush();
  // meanwhile the node controller marked the node Unknown
  const ready = condition(api.node?.status, 'Ready')!;
  ready.status = 'Unknown';
  ready.reason = 'NodeStatusUnknown';
  const writes = api.writes.length;
  clock.advance(5_500);
  await flush();
  link.reachable = true;
  clock.advance(1_000);
  await flush();
  t.is(api.writes.length, writes + 1, 'written one second after the API answered');
  t.is(condition(api.node?.status, 'Ready')?.status, 'True');
  abort.abort();
  await running;
});

test('status loop: says once that the API answers again after failed rounds (the agent resumes its pod watch then)', async (t) => {
  const clock = new ManualClock(t0);
  const api = new FakeNodeApi();
  const { partitioned, link } = partitionable(api);
  let told = 0;
  const loop = new NodeStatusLoop({
    api: partitioned,
    settings,
    observe: async () => seen(),
    clock,
    log: pino({ level: 'silent' }),
    onReachableAgain: () => told++,
  });
  const abort = new AbortController();
  await loop.register(abort.signal);
  const running = loop.run(abort.signal);
  clock.advance(10_000);
  await flush();
  t.is(told, 0, 'not while rounds succeed');
  link.reachable = false;
  for (let i = 0; i < 4; i++) {
    clock.advance(10_000);
    await flush();
  }
  t.is(told, 0, 'not while the API is away');
  link.reachable = true;
  clock.advance(1_000);
  await flush();
  t.is(told, 1, 'once, on the first round that succeeds again');
  clock.advance(10_000);
  await flush();
  t.is(told, 1, 'and not again while rounds keep succeeding');
  abort.abort();
  await running;
});

test('flags: --node-labels refuses the load-balancer pool label, which the API server would refuse too', (t) => {
  t.throws(() => parseNodeLabels('example.com/role=db,bosun.io/lb-pool=edge'), {
    message:
      "--node-labels: bosun.io/lb-pool is the cluster's to set (kubectl label node): a node may not put itself into a load-balancer pool",
  });
});

test('status loop: a node registered before its network was ready turns Ready within 100 ms of it, not at the next round', async (t) => {
  const clock = new ManualClock(t0);
  const api = new FakeNodeApi();
  let observation = seen({
    runtime: { reachable: true, runtimeReady: true, networkReady: false, message: 'cni config uninitialized' },
  });
  let observed = 0;
  let pinged = 0;
  const loop = new NodeStatusLoop({
    api,
    settings,
    observe: async () => {
      observed++;
      return observation;
    },
    pingRuntime: async () => {
      pinged++;
      return observation.runtime;
    },
    clock,
    log: pino({ level: 'silent' }),
  });
  const abort = new AbortController();
  await loop.register(abort.signal);
  t.is(condition(api.node?.status, 'Ready')?.status, 'False');
  const running = loop.run(abort.signal);
  const writes = api.writes.length;
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    await flush();
  }
  t.is(api.writes.length, writes, 'nothing written while nothing changed');
  t.is(observed, 1, 'the wait asks the runtime its status only, not the whole observation (once: at registration)');
  t.true(pinged >= 19, `${pinged} status calls in 2 s`);
  observation = seen();
  clock.advance(100);
  await flush();
  t.is(condition(api.node?.status, 'Ready')?.status, 'True', 'Ready written 100 ms after the network was');
  t.is(api.writes.length, writes + 1);
  // then the regular rounds: nothing more within the next 9 s
  for (let i = 0; i < 9; i++) {
    clock.advance(1_000);
    await flush();
  }
  t.is(api.writes.length, writes + 1);
  abort.abort();
  await running;
});
