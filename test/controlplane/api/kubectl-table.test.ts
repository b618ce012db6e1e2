/**
 * `kubectl get` output as an operator reads it: the server's Table cells through the kubectl on the
 * machine, for a node whose heartbeats stopped and for a pod whose container restarted.
 */
import test from 'ava';
import type { Node, Pod } from '../../../kube/corev1.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { apiTime } from '../../../kube/api-time.ts';

const bed = useKubectlBed({ controllers: false });

const columns = (line: string | undefined) => (line ?? '').trim().split(/\s{2,}/);

test('kubectl get nodes prints NotReady (not Unknown) for a node the node controller marked unreachable', async (t) => {
  const node = (await bed.api.get('nodes', '', 'node-b')) as Node;
  const conditions = (node.status?.conditions ?? []).map((c) =>
    c.type === 'Ready'
      ? {
          ...c,
          status: 'Unknown' as const,
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
        }
      : c,
  );
  await bed.api.updateStatus('nodes', { ...node, status: { ...node.status, conditions } });
  await bed.ok(t, 'cordon', 'node-b');

  const lines = (await bed.ok(t, 'get', 'nodes')).trim().split('\n');
  t.deepEqual(columns(lines[0]), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
  const row = columns(lines.find((l) => l.startsWith('node-b')));
  t.is(row[1], 'NotReady,SchedulingDisabled', lines.join('\n'));
  const wide = (await bed.ok(t, 'get', 'nodes', '-o', 'wide')).trim().split('\n');
  t.deepEqual(columns(wide[0]), [
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
});

test('kubectl get pods prints RESTARTS with how long ago the last restart was', async (t) => {
  const created = (await bed.api.create('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'flaky', namespace: 'default' },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'busybox' }] },
  })) as Pod;
  const finishedAt = apiTime(Date.now() - 40_000);
  await bed.api.updateStatus('pods', {
    ...created,
    status: {
      phase: 'Running',
      podIP: '10.244.0.9',
      podIPs: [{ ip: '10.244.0.9' }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'busybox',
          imageID: '',
          ready: true,
          restartCount: 2,
          state: { running: { startedAt: finishedAt } },
          lastState: { terminated: { exitCode: 1, finishedAt } },
        },
      ],
    },
  });
  const wide = (await bed.ok(t, 'get', 'pods', 'flaky', '-o', 'wide')).trim().split('\n');
  t.deepEqual(columns(wide[0]), [
    'NAME',
    'READY',
    'STATUS',
    'RESTARTS',
    'AGE',
    'IP',
    'NODE',
    'NOMINATED NODE',
    'READINESS GATES',
  ]);
  const row = columns(wide[1]);
  t.deepEqual([row[0], row[1], row[2], row[5], row[6]], ['flaky', '1/1', 'Running', '10.244.0.9', 'node-a']);
  t.regex(row[3] ?? '', /^2 \(4\ds ago\)$/);
});
