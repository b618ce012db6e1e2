/**
 * The soak's invariant checkers on fixed inputs: each breach they exist to catch is reported
 * (a leaked sandbox, a lost write, a pod on two nodes, ...) and a healthy cluster gives no problem.
 */
import test from 'ava';
import type { Pod } from '../../kube/corev1.ts';
import {
  checkAcknowledgedWrites,
  checkLeaks,
  checkNoPodTwice,
  checkRss,
  checkRunning,
  checkServices,
  checkWorkloads,
  orphanChains,
  type NodeRuntimeState,
  type RuntimeSandbox,
} from '../../bench/soak/invariants.ts';

const uid = (n: number) => `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`;
const sandboxId = (n: number) => String(n).repeat(64).slice(0, 64);

function pod(name: string, ready: boolean, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'soak', labels: { app: 'web' }, ...extra },
    spec: { containers: [{ name: 'c' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  } as Pod;
}

const web = { kind: 'Deployment' as const, name: 'web', namespace: 'soak', replicas: 2, matchLabels: { app: 'web' } };

test('workloads: at their replica count with every pod Ready, or named', (t) => {
  t.deepEqual(checkWorkloads([web], [pod('a', true), pod('b', true)]), []);
  t.deepEqual(checkWorkloads([web], [pod('a', true), pod('b', false)]), [
    'Deployment soak/web: 1 of 2 pods Ready (2 pods)',
  ]);
  t.deepEqual(checkWorkloads([web], [pod('a', true)]), ['Deployment soak/web: 1 of 2 pods Ready (1 pods)']);
  // a terminating pod does not count, a third live one is one too many
  t.deepEqual(
    checkWorkloads(
      [web],
      [pod('a', true), pod('b', true), pod('c', true, { deletionTimestamp: '2026-01-01T00:00:00Z' })],
    ),
    [],
  );
  t.deepEqual(checkWorkloads([web], [pod('a', true), pod('b', true), pod('c', true)]), [
    'Deployment soak/web: 3 of 2 pods Ready (3 pods)',
  ]);
});

test("services: an answer from a pod on the client's own node does not count", (t) => {
  const local = { service: 'web', clientPod: 'db-0', clientNode: 'node-1', answeredBy: 'web-a', answerNode: 'node-1' };
  const remote = { ...local, answeredBy: 'web-b', answerNode: 'node-2' };
  t.deepEqual(checkServices(['web'], [local, remote]), []);
  t.deepEqual(checkServices(['web'], [local]), [
    'Service web: no answer from a pod on another node (db-0@node-1 → web-a@node-1)',
  ]);
  t.deepEqual(
    checkServices(['web'], [{ service: 'web', clientPod: 'db-0', clientNode: 'node-1', error: 'timed out' }]),
    ['Service web: no answer from a pod on another node (db-0@node-1 → timed out)'],
  );
  t.deepEqual(checkServices(['db'], []), ['Service db: no answer from a pod on another node (not probed)']);
});

test('a pod with ready sandboxes on two nodes is detected; an exited old sandbox is not', (t) => {
  const s = (n: number, podUid: string, ready: boolean): RuntimeSandbox => ({
    id: sandboxId(n),
    podUid,
    podName: 'db-0',
    ready,
  });
  t.deepEqual(
    checkNoPodTwice({ 'node-1': [s(1, uid(1), true), s(2, uid(2), false)], 'node-2': [s(3, uid(2), true)] }),
    [],
  );
  t.deepEqual(checkNoPodTwice({ 'node-1': [s(1, uid(1), true)], 'node-2': [s(3, uid(1), true)] }), [
    `pod ${uid(1)} runs 2 times: node-1:db-0:111111111111, node-2:db-0:333333333333`,
  ]);
  t.is(checkNoPodTwice({ 'node-1': [s(1, uid(1), true), s(2, uid(1), true)] }).length, 1, 'twice on one node');
});

test('a lost acknowledged write is detected; a newer value is fine', (t) => {
  const acked = new Map([
    ['load-0', 7],
    ['load-1', 3],
  ]);
  t.deepEqual(
    checkAcknowledgedWrites(
      acked,
      new Map([
        ['load-0', 7],
        ['load-1', 4],
      ]),
    ),
    [],
  );
  t.deepEqual(
    checkAcknowledgedWrites(
      acked,
      new Map([
        ['load-0', 6],
        ['load-1', undefined],
      ]),
    ),
    [
      'acknowledged write lost: load-0 holds 6, 7 was acknowledged',
      'acknowledged write lost: load-1 (value 3) is gone',
    ],
  );
});

const save = (extra = '') => `*nat
:PREROUTING ACCEPT [0:0]
:BOSUN-SERVICES - [0:0]
:BOSUN-SVC-AAAA - [0:0]
:BOSUN-PROXY-CANARY - [0:0]
${extra}-A PREROUTING -m comment --comment "bosun service portals" -j BOSUN-SERVICES
-A BOSUN-SERVICES -d 10.96.0.10/32 -j BOSUN-SVC-AAAA
-A BOSUN-PROXY-CANARY -j RETURN
COMMIT
*filter
:BOSUN-SERVICES - [0:0]
:BOSUN-PROXY-CANARY - [0:0]
-A OUTPUT -j BOSUN-SERVICES
COMMIT
`;

function node(extra: Partial<NodeRuntimeState> = {}): NodeRuntimeState {
  return {
    node: 'node-1',
    podUids: new Set([uid(1)]),
    sandboxes: [{ id: sandboxId(1), podUid: uid(1), podName: 'web-a', ready: true }],
    containers: [{ id: 'c1'.repeat(32), podUid: uid(1), name: 'web', running: true }],
    iptablesSave: save(),
    mountPoints: [
      `/n1/agent/pods/${uid(1)}/volumes/kubernetes.io~projected/token`,
      `/n1/run/io.containerd.grpc.v1.cri/sandboxes/${sandboxId(1)}/shm`,
    ],
    podsDir: '/n1/agent/pods',
    criStateDir: '/n1/run',
    ...extra,
  };
}

test('leaks: a healthy node has none', (t) => {
  t.deepEqual(checkLeaks([node()]), []);
  t.deepEqual(orphanChains(save()), []);
});

test('leaks: a sandbox, a container, a chain and mounts that outlived their pod are each named', (t) => {
  const gone = uid(9);
  t.deepEqual(
    checkLeaks([
      node({
        sandboxes: [
          ...node().sandboxes,
          { id: sandboxId(9), podUid: gone, podName: 'old', ready: true },
          { id: sandboxId(8), podUid: gone, podName: 'old', ready: false },
        ],
      }),
    ]),
    [`node-1: leaked sandbox 999999999999 of pod old (${gone})`],
  );
  t.deepEqual(checkLeaks([node({ containers: [{ id: 'ab'.repeat(32), podUid: gone, name: 'web', running: true }] })]), [
    `node-1: leaked container abababababab (web) of pod ${gone}`,
  ]);
  t.deepEqual(checkLeaks([node({ iptablesSave: save(':BOSUN-SVC-STALE - [0:0]\n') })]), [
    'node-1: leaked iptables chain nat/BOSUN-SVC-STALE',
  ]);
  t.deepEqual(
    checkLeaks([
      node({
        mountPoints: [
          `/n1/agent/pods/${gone}/volumes/kubernetes.io~secret/s`,
          `/n1/run/io.containerd.grpc.v1.cri/sandboxes/${sandboxId(7)}/shm`,
        ],
      }),
    ]),
    [
      `node-1: leaked mount /n1/agent/pods/${gone}/volumes/kubernetes.io~secret/s`,
      `node-1: leaked mount /n1/run/io.containerd.grpc.v1.cri/sandboxes/${sandboxId(7)}/shm`,
    ],
  );
});

test('RSS over the bound is named, within it is not', (t) => {
  t.deepEqual(checkRss([{ process: 'agent node-1', startKiB: 100 * 1024, nowKiB: 119 * 1024 }], 0.2), []);
  t.deepEqual(checkRss([{ process: 'server', startKiB: 100 * 1024, nowKiB: 121 * 1024 }], 0.2), [
    'server RSS 121.0 MiB, more than 20 % over its start 100.0 MiB',
  ]);
});

test('a process that does not run (an agent that died after its restart) is named', (t) => {
  t.deepEqual(
    checkRunning(
      new Map([
        ['server', 150_000],
        ['agent node-1', 100_000],
      ]),
    ),
    [],
  );
  t.deepEqual(
    checkRunning(
      new Map([
        ['server', 150_000],
        ['agent node-3', undefined],
      ]),
    ),
    ['agent node-3 does not run'],
  );
});
