/**
 * Priority and preemption through a real server with its scheduler and controllers, driven by
 * kubectl: two nodes full of a low-priority Deployment's pods; a pod of a high class preempts one
 * of them (nominated, victim deleted, replacement left Pending), a pod of a class with
 * preemptionPolicy Never waits instead. The bed's nodes are API objects and a fake kubelet runs
 * what is bound.
 */
import test from 'ava';
import { useKubectlBed } from './kubectl-bed.ts';
import { waitFor } from './ports.ts';

const bed = useKubectlBed();

const manifest = `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: bulk}
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: urgent}
value: 100000
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: urgent-but-polite}
value: 100000
preemptionPolicy: Never
---
apiVersion: v1
kind: Namespace
metadata: {name: prio}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: filler, namespace: prio}
spec:
  replicas: 8
  selector: {matchLabels: {app: filler}}
  template:
    metadata: {labels: {app: filler}}
    spec:
      priorityClassName: bulk
      containers: [{name: main, image: busybox, resources: {requests: {cpu: "1"}}}]
`;

const single = (name: string, className: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: prio}
spec:
  priorityClassName: ${className}
  containers: [{name: main, image: busybox, resources: {requests: {cpu: "1"}}}]
`;

async function pod(name: string): Promise<Record<string, any>> {
  return JSON.parse(await bed.kubectl(['get', 'pod', name, '-n', 'prio', '-o', 'json']).then((r) => r.stdout || '{}'));
}

async function fillers(): Promise<{ running: number; pending: number }> {
  const list = JSON.parse((await bed.kubectl(['get', 'pods', '-n', 'prio', '-l', 'app=filler', '-o', 'json'])).stdout);
  const pods = list.items as { spec: { nodeName?: string }; status?: { phase?: string } }[];
  return {
    running: pods.filter((p) => p.status?.phase === 'Running').length,
    pending: pods.filter((p) => !p.spec.nodeName).length,
  };
}

test.serial('a high-priority pod preempts one low-priority pod; a Never pod waits', async (t) => {
  await bed.ok(t, 'apply', '-f', bed.file('prio.yaml', manifest));
  await waitFor('eight fillers running on two 4-CPU nodes', async () => (await fillers()).running === 8);

  await bed.ok(t, 'apply', '-f', bed.file('polite.yaml', single('polite', 'urgent-but-polite')));
  await waitFor('polite reported unschedulable', async () =>
    ((await pod('polite')).status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === 'PodScheduled' && c.status === 'False',
    ),
  );
  const polite = await pod('polite');
  t.like(polite.spec, { priority: 100000, preemptionPolicy: 'Never' });
  t.is(polite.status.nominatedNodeName, undefined);
  t.is((await fillers()).running, 8, 'a Never pod preempts nobody');
  await bed.ok(t, 'delete', 'pod', 'polite', '-n', 'prio');

  await bed.ok(t, 'apply', '-f', bed.file('urgent.yaml', single('urgent', 'urgent')));
  await waitFor('urgent bound', async () => (await pod('urgent')).spec?.nodeName !== undefined);
  const urgent = await pod('urgent');
  t.like(urgent.spec, { priority: 100000, preemptionPolicy: 'PreemptLowerPriority' });
  // one filler made room; its replacement has nowhere to go
  await waitFor('the replacement filler pending', async () => {
    const state = await fillers();
    return state.running === 7 && state.pending === 1;
  });
  const events = (
    await bed.ok(t, 'get', 'events', '-n', 'prio', '--field-selector', 'reason=Preempted', '-o', 'json')
  ).toString();
  t.regex(events, new RegExp(`Preempted by pod ${urgent.metadata.uid} on node ${urgent.spec.nodeName}`));
});
