/** Sandbox and container configs: DNS per policy, cgroup parents, env resolution, resources, security. */
import test from 'ava';
import { podDnsConfig, podCgroupParent, hostPortMappings, podHostname } from '../../../agent/pods/sandbox-config.ts';
import { resolveEnv, expandReferences, type EnvSources } from '../../../agent/pods/env.ts';
import {
  linuxResources,
  containerSecurityContext,
  oomScoreAdj,
  withPidTarget,
} from '../../../agent/pods/container-config.ts';
import { parseAllowedHostPaths, planMounts } from '../../../agent/pods/volumes.ts';
import { parseResolvConf } from '../../../agent/pods/node-settings.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { c, pod } from '../fixtures.ts';
import { nodeSettings } from '../worker-harness.ts';

const dnsSettings = {
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  hostDns: parseResolvConf('nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n'),
};
const ns = (p: Pod): Pod => ({ ...p, metadata: { ...p.metadata, namespace: 'shop' } });

test('DNS: ClusterFirst uses cluster DNS, the namespace search path and ndots 5', (t) => {
  t.deepEqual(podDnsConfig(ns(pod()), dnsSettings), {
    servers: ['10.96.0.10'],
    searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
    options: ['ndots:5'],
  });
});

test('DNS: host network falls back to the node resolver unless ClusterFirstWithHostNet', (t) => {
  t.deepEqual(podDnsConfig(pod({ hostNetwork: true }), dnsSettings), {
    servers: ['192.0.2.53'],
    searches: ['corp.example'],
    options: ['edns0'],
  });
  t.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), dnsSettings).servers, [
    '10.96.0.10',
  ]);
});

test('DNS: None takes only dnsConfig; dnsConfig options merge by name', (t) => {
  t.deepEqual(
    podDnsConfig(
      pod({
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }] },
      }),
      dnsSettings,
    ),
    {
      servers: ['1.1.1.1'],
      searches: ['a.b'],
      options: ['ndots:2'],
    },
  );
  const merged = podDnsConfig(
    pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }, { name: 'rotate' }] } }),
    dnsSettings,
  );
  t.deepEqual(merged.options, ['ndots:1', 'rotate']);
});

test('sandbox: cgroup parent by QoS class and driver; host ports; hostname', (t) => {
  t.is(
    podCgroupParent({ cgroupRoot: '/kubepods', cgroupDriver: 'cgroupfs' }, 'u-1', 'Burstable'),
    '/kubepods/burstable/podu-1',
  );
  t.is(podCgroupParent({ cgroupRoot: '/kubepods', cgroupDriver: 'cgroupfs' }, 'u-1', 'Guaranteed'), '/kubepods/podu-1');
  t.is(
    podCgroupParent({ cgroupRoot: 'kubepods.slice', cgroupDriver: 'systemd' }, 'u-1', 'BestEffort'),
    'kubepods-besteffort-podu_1.slice',
  );
  t.is(podCgroupParent({ cgroupRoot: undefined, cgroupDriver: 'cgroupfs' }, 'u-1', 'BestEffort'), undefined);
  t.deepEqual(
    hostPortMappings(
      pod({ containers: [c('a', { ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] })] }),
    ),
    [{ protocol: 'TCP', containerPort: 80, hostPort: 8080 }],
  );
  t.is(podHostname(pod({ hostname: 'x'.repeat(70) }), 'cluster.local').length, 63);
});

const sources: EnvSources = {
  podIP: '10.244.1.7',
  podIPs: ['10.244.1.7'],
  hostIP: '172.30.0.11',
  nodeName: 'node-1',
  allocatable: { cpuMilli: 2000, memoryBytes: 4 * 2 ** 30 },
  configMap: (name) => (name === 'settings' ? { MODE: 'fast', LEVEL: '3' } : undefined),
  secret: (name) => (name === 'creds' ? { token: 's3cret' } : undefined),
};

test('env: envFrom first, env wins, references expand, fieldRef and resourceFieldRef resolve', (t) => {
  const p = pod({
    containers: [
      c('app', {
        resources: { limits: { memory: '128Mi' }, requests: { cpu: '250m' } },
        envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
        env: [
          { name: 'CFG_LEVEL', value: '9' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'GREETING', value: 'hi $(POD) at $(IP), $$(POD) and $(NOPE)' },
          { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
          { name: 'OPTIONAL', valueFrom: { configMapKeyRef: { name: 'missing', key: 'x', optional: true } } },
        ],
      }),
    ],
  });
  const env = Object.fromEntries(resolveEnv(p, p.spec.containers[0]!, sources).map((kv) => [kv.key, kv.value]));
  t.deepEqual(env, {
    CFG_MODE: 'fast',
    CFG_LEVEL: '9',
    POD: 'web',
    IP: '10.244.1.7',
    GREETING: 'hi web at 10.244.1.7, $(POD) and $(NOPE)',
    MEM_MI: '128',
    CPU_LIMIT: '2',
    CPU_REQ_M: '250',
    TOKEN: 's3cret',
  });
  t.is(expandReferences('$(A)$(A)', new Map([['A', 'x']])), 'xx');
});

test('env: a missing ConfigMap key is a CreateContainerConfigError', (t) => {
  const p = pod({
    containers: [c('app', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } }] })],
  });
  t.throws(() => resolveEnv(p, p.spec.containers[0]!, sources), {
    message: /couldn't find key nope/,
    instanceOf: Error,
  });
});

test('resources: CPU shares and quota, memory limit, OOM score by QoS', (t) => {
  t.deepEqual(
    linuxResources(
      c('a', { resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '500m', memory: '2Gi' } } }),
      'Burstable',
      4 * 2 ** 30,
    ),
    {
      cpuShares: 256,
      cpuPeriod: 100_000,
      cpuQuota: 50_000,
      memoryLimitInBytes: 2 * 2 ** 30,
      oomScoreAdj: 750,
    },
  );
  t.deepEqual(linuxResources(c('a'), 'BestEffort', 1), { cpuShares: 2, oomScoreAdj: 1000 });
  t.is(oomScoreAdj('Guaranteed', 1, 1), -997);
  t.is(oomScoreAdj('Burstable', 4 * 2 ** 30, 4 * 2 ** 30), 3);
});

test('security: runAsNonRoot is checked against the image user; capabilities get CAP_; defaults mask /proc', (t) => {
  const nonRoot = pod({ securityContext: { runAsNonRoot: true }, containers: [c('a')] });
  t.throws(() => containerSecurityContext(nonRoot, nonRoot.spec.containers[0]!, { uid: 0, username: '' }), {
    message: /run as root/,
  });
  t.throws(() => containerSecurityContext(nonRoot, nonRoot.spec.containers[0]!, { username: 'app' }), {
    message: /not numeric/,
  });
  t.notThrows(() => containerSecurityContext(nonRoot, nonRoot.spec.containers[0]!, { uid: 1000, username: '' }));
  const p = pod({
    containers: [
      c('a', {
        securityContext: {
          capabilities: { add: ['net_admin'], drop: ['ALL'] },
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsUser: 1000,
        },
      }),
    ],
  });
  const sc = containerSecurityContext(p, p.spec.containers[0]!, undefined);
  t.deepEqual(sc.capabilities, { addCapabilities: ['CAP_NET_ADMIN'], dropCapabilities: ['ALL'] });
  t.true(sc.noNewPrivs);
  t.true(sc.readonlyRootfs);
  t.deepEqual(sc.runAsUser, { value: 1000 });
  t.true(sc.maskedPaths!.includes('/proc/kcore'));
  const privileged = pod({ containers: [c('a', { securityContext: { privileged: true } })] });
  t.is(containerSecurityContext(privileged, privileged.spec.containers[0]!, undefined).maskedPaths, undefined);
});

test('volumes: emptyDir under the pod folder, hostPath only from the allow list and read-write unless readOnly: true (as upstream), subPath bound from its own folder', (t) => {
  const settings = { ...nodeSettings('/srv/bosun-test'), hostPathAllowList: ['/srv/shared'] };
  const p = pod({
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'data', hostPath: { path: '/srv/shared/data' } },
      { name: 'etc', hostPath: { path: '/etc' } },
      { name: 'cfg', configMap: { name: 'x' } },
      { name: 'nfs', nfs: { server: 'x', path: '/' } } as never,
    ],
    containers: [
      c('a', {
        volumeMounts: [
          { name: 'scratch', mountPath: '/tmp/s', subPath: 'a/b' },
          { name: 'data', mountPath: '/data' },
          { name: 'data', mountPath: '/data-ro', readOnly: true },
          { name: 'cfg', mountPath: '/cfg', readOnly: false },
        ],
      }),
    ],
  });
  const plans = planMounts(p, p.spec.containers[0]!, 0, settings);
  t.deepEqual(
    plans.map((m) => [m.volumeRoot, m.hostPath, m.subPath, m.containerPath, m.readonly]),
    [
      [
        '/srv/bosun-test/pods/uid-web/volumes/kubernetes.io~empty-dir/scratch',
        '/srv/bosun-test/pods/uid-web/volume-subpaths/scratch/a/0',
        'a/b',
        '/tmp/s',
        false,
      ],
      ['/srv/shared/data', '/srv/shared/data', undefined, '/data', false],
      ['/srv/shared/data', '/srv/shared/data', undefined, '/data-ro', true],
      [
        '/srv/bosun-test/pods/uid-web/volumes/kubernetes.io~configmap/cfg',
        '/srv/bosun-test/pods/uid-web/volumes/kubernetes.io~configmap/cfg',
        undefined,
        '/cfg',
        true,
      ],
      [
        '/srv/bosun-test/pods/uid-web/containers/a/0-termination-log',
        '/srv/bosun-test/pods/uid-web/containers/a/0-termination-log',
        undefined,
        '/dev/termination-log',
        false,
      ],
    ],
  );
  const mount = (name: string, subPath?: string) =>
    planMounts(p, c('a', { volumeMounts: [{ name, mountPath: '/m', ...(subPath ? { subPath } : {}) }] }), 0, settings);
  t.throws(() => mount('etc'), { message: /not allowed on this node/ });
  t.throws(() => mount('nfs'), { message: /volume "nfs" of type nfs is not supported by this agent/ });
  t.throws(() => mount('scratch', '../../etc'), { message: /must not contain '\.\.'/ });
  const own = pod({
    volumes: [{ name: 'own', hostPath: { path: '/srv/bosun-test/pods' } }],
    containers: [c('a', { volumeMounts: [{ name: 'own', mountPath: '/m' }] })],
  });
  t.throws(
    () => planMounts(own, own.spec.containers[0]!, 0, { ...settings, hostPathAllowList: ['/srv'] }),
    { message: /agent's own state/ },
    'the agent root is never mountable, even under an allowed prefix',
  );
  const { allowed, readOnly } = parseAllowedHostPaths('/srv/shared:ro, /data');
  t.deepEqual([allowed, readOnly], [['/srv/shared', '/data'], ['/srv/shared']]);
  const readOnlyNode = { ...settings, hostPathAllowList: allowed, hostPathReadOnlyList: readOnly };
  t.throws(() => planMounts(p, c('a', { volumeMounts: [{ name: 'data', mountPath: '/m' }] }), 0, readOnlyNode), {
    message:
      /hostPath \/srv\/shared\/data may only be mounted with readOnly: true on this node \(--allowed-host-paths \/srv\/shared:ro\)/,
  });
  t.true(
    planMounts(p, c('a', { volumeMounts: [{ name: 'data', mountPath: '/m', readOnly: true }] }), 0, readOnlyNode)[0]!
      .readonly,
    'a read-only mount of a :ro prefix is allowed',
  );
});

test("an ephemeral container with a target joins the target's process namespace where each container has its own", (t) => {
  const own = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } as const;
  t.deepEqual(withPidTarget(own, 'abc123'), { network: 'POD', pid: 'TARGET', ipc: 'POD', targetId: 'abc123' });
  t.deepEqual(withPidTarget(own, undefined), own, 'no target: the container keeps its own');
  t.deepEqual(
    withPidTarget({ ...own, pid: 'POD' }, 'abc123').pid,
    'POD',
    'shareProcessNamespace already shows every process',
  );
  t.deepEqual(withPidTarget({ ...own, pid: 'NODE' }, 'abc123').pid, 'NODE', "hostPID stays the host's");
});
