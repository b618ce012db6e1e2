/** Table columns and cells for the resources kubectl users look at most. */
import test from 'ava';
import { findResource } from '../../../controlplane/api/resources.ts';
import { tableFor } from '../../../controlplane/api/table.ts';
import type { KubeObject } from '../../../kube/types.ts';

const now = Date.parse('2026-01-01T12:00:00Z');
const created = '2026-01-01T11:58:00Z'; // two minutes before "now"
const metaOf = (name: string) => ({ name, creationTimestamp: created });

function rows(group: string, resource: string, objects: KubeObject[], wide = false) {
  const table = tableFor(findResource(group, 'v1', resource)!, objects, '1', 'Metadata', now);
  const shown = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => wide || c.priority === 0);
  return {
    header: shown.map(({ c }) => c.name.toUpperCase()),
    cells: table.rows.map((r) => shown.map(({ i }) => r.cells[i])),
  };
}

test('pods: READY, STATUS from container states, RESTARTS, wide columns', (t) => {
  const pod: KubeObject = {
    metadata: { name: 'web', creationTimestamp: created },
    spec: { nodeName: 'n1', containers: [{ name: 'a' }, { name: 'b' }] },
    status: {
      phase: 'Running',
      podIP: '10.244.1.5',
      containerStatuses: [
        { name: 'a', ready: true, restartCount: 2, state: { running: {} } },
        { name: 'b', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    },
  };
  t.deepEqual(rows('', 'pods', [pod]), {
    header: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    cells: [['web', '1/2', 'CrashLoopBackOff', '3', '2m']],
  });
  t.deepEqual(rows('', 'pods', [pod], true).cells[0]!.slice(5), ['10.244.1.5', 'n1', '<none>', '<none>']);
  const terminating = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: created } };
  t.is(rows('', 'pods', [terminating]).cells[0]![2], 'Terminating');
});

test('nodes, services, jobs, daemonsets, events, cluster roles, configmaps, secrets, namespaces, serviceaccounts, leases', (t) => {
  const node: KubeObject = {
    metadata: { name: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: { unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0-bosun' } },
  };
  t.deepEqual(rows('', 'nodes', [node]), {
    header: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
    cells: [['n1', 'Ready,SchedulingDisabled', 'control-plane', '2m', 'v1.32.0-bosun']],
  });
  const svc: KubeObject = {
    metadata: { name: 's', creationTimestamp: created },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.20',
      ports: [
        { port: 80, nodePort: 30080, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    },
  };
  t.deepEqual(rows('', 'services', [svc]).cells, [
    ['s', 'LoadBalancer', '10.96.0.20', '<pending>', '80:30080/TCP,53/UDP', '2m'],
  ]);
  const job: KubeObject = {
    metadata: { name: 'j', creationTimestamp: created },
    spec: { completions: 3 },
    status: {
      succeeded: 3,
      startTime: created,
      completionTime: '2026-01-01T11:59:05Z',
      conditions: [{ type: 'Complete', status: 'True' }],
    },
  };
  t.deepEqual(rows('batch', 'jobs', [job]), {
    header: ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE'],
    cells: [['j', 'Complete', '3/3', '65s', '2m']],
  });
  const ds: KubeObject = {
    metadata: { name: 'd', creationTimestamp: created },
    spec: { template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' } } } },
    status: {
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberReady: 1,
      updatedNumberScheduled: 2,
      numberAvailable: 1,
    },
  };
  t.deepEqual(rows('apps', 'daemonsets', [ds]), {
    header: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
    cells: [['d', 2, 2, 1, 2, 1, 'kubernetes.io/os=linux', '2m']],
  });
  const event: KubeObject = {
    metadata: { name: 'e', creationTimestamp: created },
    type: 'Warning',
    reason: 'BackOff',
    involvedObject: { kind: 'Pod', name: 'web' },
    message: 'Back-off restarting',
    lastTimestamp: '2026-01-01T11:59:30Z',
  };
  t.deepEqual(rows('', 'events', [event]), {
    header: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    cells: [['30s', 'Warning', 'BackOff', 'pod/web', 'Back-off restarting']],
  });
  t.deepEqual(
    rows('', 'configmaps', [{ metadata: metaOf('c'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }]).cells,
    [['c', 3, '2m']],
  );
  t.deepEqual(
    rows('', 'secrets', [
      { metadata: metaOf('s'), type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } },
      { metadata: metaOf('o') },
    ]).cells,
    [
      ['s', 'kubernetes.io/tls', 2, '2m'],
      ['o', 'Opaque', 0, '2m'],
    ],
  );
  t.deepEqual(rows('', 'namespaces', [{ metadata: metaOf('n'), status: { phase: 'Terminating' } }]), {
    header: ['NAME', 'STATUS', 'AGE'],
    cells: [['n', 'Terminating', '2m']],
  });
  t.deepEqual(rows('', 'serviceaccounts', [{ metadata: metaOf('default'), secrets: [{ name: 'x' }] }]), {
    header: ['NAME', 'SECRETS', 'AGE'],
    cells: [['default', 1, '2m']],
  });
  t.deepEqual(
    rows('coordination.k8s.io', 'leases', [{ metadata: metaOf('node-1'), spec: { holderIdentity: 'node-1' } }]),
    { header: ['NAME', 'HOLDER', 'AGE'], cells: [['node-1', 'node-1', '2m']] },
  );
  const role: KubeObject = { metadata: { name: 'r', creationTimestamp: created } };
  t.deepEqual(rows('rbac.authorization.k8s.io', 'clusterroles', [role]), {
    header: ['NAME', 'CREATED AT'],
    cells: [['r', created]],
  });
});

// ---- one table per kind, cells as upstream's printers write them for the same objects

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, creationTimestamp: created, ...extra });
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

test('age: upstream short durations, and a clock a second ahead still reads 0s', (t) => {
  const cell = (seconds: number) =>
    rows('', 'configmaps', [{ metadata: { name: 'c', creationTimestamp: ago(seconds) } }]).cells[0]![2];
  t.deepEqual([5, 190, 3 * 3600 + 600, 2 * 86400 + 3 * 3600, 30 * 86400, -1.5].map(cell), [
    '5s',
    '3m10s',
    '3h10m',
    '2d3h',
    '30d',
    '0s',
  ]);
});

test('nodes: Ready=Unknown and Ready=False both print NotReady; Unknown only without a Ready condition; roles from both label forms', (t) => {
  const node = (name: string, ready: string | undefined, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: meta(name, extra),
    spec: {},
    status: {
      conditions:
        ready === undefined ? [{ type: 'MemoryPressure', status: 'False' }] : [{ type: 'Ready', status: ready }],
      nodeInfo: { kubeletVersion: 'v1.32.0' },
    },
  });
  const table = rows('', 'nodes', [
    node('a', 'Unknown'),
    node('b', 'False'),
    node('c', undefined),
    node('d', 'True', {
      labels: {
        'node-role.kubernetes.io/worker': '',
        'node-role.kubernetes.io/control-plane': 'true',
        'kubernetes.io/role': 'edge',
        'node-role.kubernetes.io/': 'x',
      },
    }),
  ]);
  t.deepEqual(
    table.cells.map((r) => r.slice(1, 3)),
    [
      ['NotReady', '<none>'],
      ['NotReady', '<none>'],
      ['Unknown', '<none>'],
      ['Ready', 'control-plane,edge,worker'],
    ],
  );
  const wide = rows(
    '',
    'nodes',
    [
      {
        metadata: meta('w'),
        status: {
          addresses: [
            { type: 'Hostname', address: 'w' },
            { type: 'InternalIP', address: '10.0.0.2' },
          ],
          nodeInfo: { osImage: '', kubeletVersion: 'v1' },
        },
      },
    ],
    true,
  );
  t.deepEqual(wide.header, [
    'NAME',
    'STATUS',
    'ROLES',
    'AGE',
    'VERSION',
    'INTERNAL-IP',
    'EXTERNAL-IP',
    'OS-IMAGE',
    'KERNEL-VERSION',
    'CONTAINER-RUNTIME',
  ]);
  t.deepEqual(wide.cells[0], [
    'w',
    'Unknown',
    '<none>',
    '2m',
    'v1',
    '10.0.0.2',
    '<none>',
    '<unknown>',
    '<unknown>',
    '<unknown>',
  ]);
});

test('pods: STATUS as upstream derives it (init steps, exit codes, signals, Completed, Terminating, SchedulingGated)', (t) => {
  const p = (
    status: Record<string, unknown>,
    specExtra: Record<string, unknown> = {},
    metaExtra: Record<string, unknown> = {},
  ): KubeObject => ({
    metadata: meta('p', metaExtra),
    spec: { containers: [{ name: 'a' }, { name: 'b' }], ...specExtra },
    status,
  });
  const running = { state: { running: {} }, ready: true };
  const init3 = { initContainers: [{ name: 'i0' }, { name: 'i1' }, { name: 'i2' }] };
  const done = { name: 'i0', state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  const cases: [string, KubeObject][] = [
    [
      'Init:1/3',
      p(
        {
          phase: 'Pending',
          initContainerStatuses: [
            done,
            { name: 'i1', state: { running: {} } },
            { name: 'i2', state: { waiting: { reason: 'PodInitializing' } } },
          ],
        },
        init3,
      ),
    ],
    [
      'Init:CrashLoopBackOff',
      p(
        {
          phase: 'Pending',
          initContainerStatuses: [done, { name: 'i1', state: { waiting: { reason: 'CrashLoopBackOff' } } }],
        },
        init3,
      ),
    ],
    [
      'Init:ExitCode:3',
      p({ phase: 'Pending', initContainerStatuses: [{ name: 'i0', state: { terminated: { exitCode: 3 } } }] }, init3),
    ],
    [
      'Init:Signal:9',
      p(
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'i0', state: { terminated: { exitCode: 137, signal: 9 } } }],
        },
        init3,
      ),
    ],
    [
      'Init:Error',
      p(
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'i0', state: { terminated: { exitCode: 1, reason: 'Error' } } }],
        },
        init3,
      ),
    ],
    [
      'ErrImagePull',
      p({
        phase: 'Pending',
        containerStatuses: [
          { name: 'a', state: { waiting: { reason: 'ErrImagePull' } } },
          { name: 'b', state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      }),
    ],
    [
      'ExitCode:2',
      p({
        phase: 'Running',
        containerStatuses: [
          { name: 'a', state: { terminated: { exitCode: 2 } } },
          { name: 'b', ...running },
        ],
      }),
    ],
    [
      'Completed',
      p({
        phase: 'Succeeded',
        containerStatuses: [
          { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'b', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      }),
    ],
    [
      'Running',
      p({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'b', ...running },
        ],
      }),
    ],
    [
      'NotReady',
      p({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'b', ...running },
        ],
      }),
    ],
    ['Evicted', p({ phase: 'Failed', reason: 'Evicted' })],
    [
      'Terminating',
      p(
        {
          phase: 'Running',
          containerStatuses: [
            { name: 'a', ...running },
            { name: 'b', ...running },
          ],
        },
        {},
        { deletionTimestamp: created },
      ),
    ],
    [
      'Completed',
      p(
        {
          phase: 'Succeeded',
          containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
        {},
        { deletionTimestamp: created },
      ),
    ],
    ['Unknown', p({ phase: 'Running', reason: 'NodeLost' }, {}, { deletionTimestamp: created })],
    [
      'SchedulingGated',
      p({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }),
    ],
  ];
  t.deepEqual(
    cases.map(([, pod]) => rows('', 'pods', [pod]).cells[0]![2]),
    cases.map(([want]) => want),
  );
});

test('pods: READY counts started sidecars; RESTARTS says how long ago the last restart was', (t) => {
  const pod: KubeObject = {
    metadata: meta('web'),
    spec: {
      initContainers: [{ name: 'setup' }, { name: 'proxy', restartPolicy: 'Always' }],
      containers: [{ name: 'app' }],
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }],
      initContainerStatuses: [
        { name: 'setup', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        {
          name: 'proxy',
          restartCount: 1,
          started: true,
          ready: true,
          state: { running: {} },
          lastState: { terminated: { exitCode: 1, finishedAt: ago(600) } },
        },
      ],
      containerStatuses: [
        {
          name: 'app',
          restartCount: 2,
          ready: true,
          state: { running: {} },
          lastState: { terminated: { exitCode: 1, finishedAt: ago(45) } },
        },
      ],
    },
  };
  t.deepEqual(rows('', 'pods', [pod]).cells[0], ['web', '2/2', 'Running', '3 (45s ago)', '2m']);
  t.deepEqual(rows('', 'pods', [pod], true).cells[0]!.slice(5), ['10.244.1.7', '<none>', '<none>', '<none>']);
});

test('services: EXTERNAL-IP per type, PORT(S) with node ports, wide SELECTOR sorted', (t) => {
  const svc = (
    name: string,
    specBody: Record<string, unknown>,
    statusBody: Record<string, unknown> = {},
  ): KubeObject => ({ metadata: meta(name), spec: specBody, status: statusBody });
  const table = rows(
    '',
    'services',
    [
      svc('plain', {
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        selector: { b: '2', a: '1' },
      }),
      svc('ext', {
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        externalIPs: ['192.0.2.1'],
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
      }),
      svc(
        'lb',
        { type: 'LoadBalancer', clusterIP: '10.96.0.12', ports: [] },
        { loadBalancer: { ingress: [{ ip: '192.0.2.9' }, { hostname: 'lb.example' }] } },
      ),
      svc('lbwait', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.13',
        ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }],
      }),
      svc('name', { type: 'ExternalName', externalName: 'db.example' }),
      svc('headless', { type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 80, protocol: 'TCP' }] }),
    ],
    true,
  );
  t.deepEqual(table.header, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
  t.deepEqual(table.cells, [
    ['plain', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '2m', 'a=1,b=2'],
    ['ext', 'NodePort', '10.96.0.11', '192.0.2.1', '80:30080/TCP', '2m', '<none>'],
    ['lb', 'LoadBalancer', '10.96.0.12', '192.0.2.9,lb.example', '<none>', '2m', '<none>'],
    ['lbwait', 'LoadBalancer', '10.96.0.13', '<pending>', '443:31443/TCP', '2m', '<none>'],
    ['name', 'ExternalName', '<none>', 'db.example', '<none>', '2m', '<none>'],
    ['headless', 'ClusterIP', 'None', '<none>', '80/TCP', '2m', '<none>'],
  ]);
});

test('workloads: deployments, replicasets, statefulsets, daemonsets with their wide columns', (t) => {
  const template = {
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1' },
        { name: 'log', image: 'busybox' },
      ],
    },
  };
  const selector = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['a', 'b'] },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  };
  const deploy: KubeObject = {
    metadata: meta('d'),
    spec: { replicas: 3, selector, template },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  t.deepEqual(rows('apps', 'deployments', [deploy], true), {
    header: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells: [['d', '2/3', 3, 2, '2m', 'web,log', 'nginx:1,busybox', 'app=web,tier in (a,b),!canary']],
  });
  const rs: KubeObject = {
    metadata: meta('r'),
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
    status: { replicas: 3, readyReplicas: 1 },
  };
  t.deepEqual(rows('apps', 'replicasets', [rs], true), {
    header: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells: [['r', 3, 3, 1, '2m', 'web,log', 'nginx:1,busybox', 'app=web']],
  });
  const sts: KubeObject = { metadata: meta('s'), spec: { replicas: 2, template }, status: { readyReplicas: 2 } };
  t.deepEqual(rows('apps', 'statefulsets', [sts], true), {
    header: ['NAME', 'READY', 'AGE', 'CONTAINERS', 'IMAGES'],
    cells: [['s', '2/2', '2m', 'web,log', 'nginx:1,busybox']],
  });
  const ds: KubeObject = {
    metadata: meta('ds'),
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: { spec: { ...template.spec, nodeSelector: { 'b/x': '1', 'a/y': '2' } } },
    },
    status: {},
  };
  t.deepEqual(rows('apps', 'daemonsets', [ds], true).cells, [
    ['ds', 0, 0, 0, 0, 0, 'a/y=2,b/x=1', '2m', 'web,log', 'nginx:1,busybox', 'app=x'],
  ]);
});

test('jobs and cronjobs: STATUS, COMPLETIONS with parallelism, DURATION while running, cron wide columns', (t) => {
  const job = (
    name: string,
    specBody: Record<string, unknown>,
    statusBody: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): KubeObject => ({ metadata: meta(name, extra), spec: specBody, status: statusBody });
  const table = rows('batch', 'jobs', [
    job('running', { parallelism: 4 }, { startTime: ago(75) }),
    job(
      'one',
      {},
      {
        succeeded: 1,
        startTime: ago(100),
        completionTime: ago(70),
        conditions: [{ type: 'Complete', status: 'True' }],
      },
    ),
    job(
      'failing',
      { completions: 5 },
      { succeeded: 2, startTime: ago(30), conditions: [{ type: 'FailureTarget', status: 'True' }] },
    ),
    job('gone', { completions: 1 }, {}, { deletionTimestamp: created }),
    job('held', { completions: 2, suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] }),
  ]);
  t.deepEqual(table.cells, [
    ['running', 'Running', '0/1 of 4', '75s', '2m'],
    ['one', 'Complete', '1/1', '30s', '2m'],
    ['failing', 'FailureTarget', '2/5', '30s', '2m'],
    ['gone', 'Terminating', '0/1', '', '2m'],
    ['held', 'Suspended', '0/2', '', '2m'],
  ]);
  const cron: KubeObject = {
    metadata: meta('c'),
    spec: {
      schedule: '*/5 * * * *',
      timeZone: 'Etc/UTC',
      suspend: false,
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'x', image: 'busybox' }] } } } },
    },
    status: { active: [{ name: 'c-1' }], lastScheduleTime: ago(200) },
  };
  t.deepEqual(rows('batch', 'cronjobs', [cron], true), {
    header: [
      'NAME',
      'SCHEDULE',
      'TIMEZONE',
      'SUSPEND',
      'ACTIVE',
      'LAST SCHEDULE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ],
    cells: [['c', '*/5 * * * *', 'Etc/UTC', 'False', 1, '3m20s', '2m', 'x', 'busybox', '<none>']],
  });
});

test('endpoints and endpointslices: each port with each address, three shown and the rest counted', (t) => {
  const ep: KubeObject = {
    metadata: meta('web'),
    subsets: [
      {
        addresses: [{ ip: '10.244.1.2' }, { ip: '10.244.2.3' }],
        ports: [
          { name: 'http', port: 80 },
          { name: 'https', port: 443 },
        ],
      },
      { addresses: [{ ip: 'fd00::1' }], ports: [{ port: 8080 }] },
    ],
  };
  const empty: KubeObject = { metadata: meta('none') };
  const notReady: KubeObject = {
    metadata: meta('waiting'),
    subsets: [{ notReadyAddresses: [{ ip: '10.244.1.9' }], ports: [{ port: 80 }] }],
  };
  t.deepEqual(rows('', 'endpoints', [ep, empty, notReady]).cells, [
    ['web', '10.244.1.2:80,10.244.2.3:80,10.244.1.2:443 + 2 more...', '2m'],
    ['none', '<none>', '2m'],
    ['waiting', '', '2m'],
  ]);
  const slice: KubeObject = {
    metadata: meta('web-abc'),
    addressType: 'IPv4',
    ports: [{ port: 80 }, { name: 'named' }, {}],
    endpoints: [{ addresses: ['10.244.1.2'] }, { addresses: ['10.244.2.3'] }],
  };
  const bare: KubeObject = { metadata: meta('bare'), addressType: 'IPv4', endpoints: [] };
  t.deepEqual(rows('discovery.k8s.io', 'endpointslices', [slice, bare]).cells, [
    ['web-abc', 'IPv4', '80,named,*', '10.244.1.2,10.244.2.3', '2m'],
    ['bare', 'IPv4', '<unset>', '<unset>', '2m'],
  ]);
});

test('events: LAST SEEN from the series or the last timestamp, wide SOURCE, FIRST SEEN, COUNT, NAME', (t) => {
  const event: KubeObject = {
    metadata: meta('web.1'),
    type: 'Normal',
    reason: 'Pulled',
    message: 'pulled \n',
    count: 4,
    involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{app}' },
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(300),
    lastTimestamp: ago(10),
  };
  const newStyle: KubeObject = {
    metadata: meta('n.2'),
    type: 'Normal',
    reason: 'Scheduled',
    involvedObject: { kind: 'Node' },
    eventTime: ago(20),
    reportingComponent: 'scheduler',
    series: { count: 7, lastObservedTime: ago(5) },
  };
  const table = rows('', 'events', [event, newStyle], true);
  t.deepEqual(table.header, [
    'LAST SEEN',
    'TYPE',
    'REASON',
    'OBJECT',
    'SUBOBJECT',
    'SOURCE',
    'MESSAGE',
    'FIRST SEEN',
    'COUNT',
    'NAME',
  ]);
  t.deepEqual(table.cells, [
    ['10s', 'Normal', 'Pulled', 'pod/web', 'spec.containers{app}', 'kubelet, node-1', 'pulled', '5m', 4, 'web.1'],
    ['5s', 'Normal', 'Scheduled', 'node', '', 'scheduler', '', '20s', 7, 'n.2'],
  ]);
});

test('certificate signing requests and role bindings', (t) => {
  const csr = (
    name: string,
    conditions: { type: string; status: string }[],
    extra: Record<string, unknown> = {},
  ): KubeObject => ({
    metadata: meta(name),
    spec: { signerName: 'kubernetes.io/kube-apiserver-client-kubelet', username: 'system:node:n1', ...extra },
    status: { conditions },
  });
  t.deepEqual(
    rows('certificates.k8s.io', 'certificatesigningrequests', [
      csr('a', []),
      csr('b', [{ type: 'Approved', status: 'True' }], { expirationSeconds: 3600 }),
      {
        ...csr('c', [
          { type: 'Approved', status: 'True' },
          { type: 'Failed', status: 'True' },
        ]),
        status: {
          conditions: [
            { type: 'Approved', status: 'True' },
            { type: 'Failed', status: 'True' },
          ],
          certificate: 'LS0t',
        },
      },
      csr('d', [
        { type: 'Approved', status: 'True' },
        { type: 'Denied', status: 'True' },
      ]),
    ]).cells.map((r) => [r[0], r[4], r[5]]),
    [
      ['a', '<none>', 'Pending'],
      ['b', '60m', 'Approved'],
      ['c', '<none>', 'Approved,Failed,Issued'],
      ['d', '<none>', 'Denied'],
    ],
  );
  const binding: KubeObject = {
    metadata: meta('b'),
    roleRef: { kind: 'ClusterRole', name: 'view' },
    subjects: [
      { kind: 'User', name: 'alice' },
      { kind: 'Group', name: 'devs' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' },
      { kind: 'User', name: 'bob' },
    ],
  };
  t.deepEqual(rows('rbac.authorization.k8s.io', 'rolebindings', [binding], true), {
    header: ['NAME', 'ROLE', 'AGE', 'USERS', 'GROUPS', 'SERVICEACCOUNTS'],
    cells: [['b', 'ClusterRole/view', '2m', 'alice,bob', 'devs', 'tools/ci']],
  });
  t.deepEqual(rows('rbac.authorization.k8s.io', 'clusterrolebindings', [binding]).header, ['NAME', 'ROLE', 'AGE']);
});
