/** Table columns and cells for the resources kubectl users look at most. */
import test from 'ava';
import { findResource } from '../controlplane/api/resources.ts';
import { tableFor } from '../controlplane/api/table.ts';
import type { KubeObject } from '../kube/types.ts';

const now = Date.parse('2026-01-01T12:00:00Z');
const created = '2026-01-01T11:58:00Z'; // two minutes before "now"

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
  t.deepEqual(rows('', 'pods', [pod]), { header: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], cells: [['web', '1/2', 'CrashLoopBackOff', '3', '2m']] });
  t.deepEqual(rows('', 'pods', [pod], true).cells[0]!.slice(5), ['10.244.1.5', 'n1', '<none>', '<none>']);
  const terminating = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: created } };
  t.is(rows('', 'pods', [terminating]).cells[0]![2], 'Terminating');
});

test('nodes, services, jobs, daemonsets, events, cluster roles', (t) => {
  const node: KubeObject = {
    metadata: { name: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: { unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0-bosun' } },
  };
  t.deepEqual(rows('', 'nodes', [node]), { header: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'], cells: [['n1', 'Ready,SchedulingDisabled', 'control-plane', '2m', 'v1.32.0-bosun']] });
  const svc: KubeObject = { metadata: { name: 's', creationTimestamp: created }, spec: { type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } };
  t.deepEqual(rows('', 'services', [svc]).cells, [['s', 'LoadBalancer', '10.96.0.20', '<pending>', '80:30080/TCP,53/UDP', '2m']]);
  const job: KubeObject = {
    metadata: { name: 'j', creationTimestamp: created },
    spec: { completions: 3 },
    status: { succeeded: 3, startTime: created, completionTime: '2026-01-01T11:59:05Z', conditions: [{ type: 'Complete', status: 'True' }] },
  };
  t.deepEqual(rows('batch', 'jobs', [job]), { header: ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE'], cells: [['j', 'Complete', '3/3', '65s', '2m']] });
  const ds: KubeObject = {
    metadata: { name: 'd', creationTimestamp: created },
    spec: { template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' } } } },
    status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 },
  };
  t.deepEqual(rows('apps', 'daemonsets', [ds]), {
    header: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
    cells: [['d', 2, 2, 1, 2, 1, 'kubernetes.io/os=linux', '2m']],
  });
  const event: KubeObject = { metadata: { name: 'e', creationTimestamp: created }, type: 'Warning', reason: 'BackOff', involvedObject: { kind: 'Pod', name: 'web' }, message: 'Back-off restarting', lastTimestamp: '2026-01-01T11:59:30Z' };
  t.deepEqual(rows('', 'events', [event]), { header: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], cells: [['30s', 'Warning', 'BackOff', 'pod/web', 'Back-off restarting']] });
  const role: KubeObject = { metadata: { name: 'r', creationTimestamp: created } };
  t.deepEqual(rows('rbac.authorization.k8s.io', 'clusterroles', [role]), { header: ['NAME', 'CREATED AT'], cells: [['r', created]] });
});
