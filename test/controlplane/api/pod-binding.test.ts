/**
 * pods/binding as upstream's binding REST: the node name, the binding's annotations, and
 * PodScheduled=True replacing the scheduler's PodScheduled=False.
 */
import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { refs, type ResourceRef } from '../../../kube/resource-ref.ts';
import { bindPod } from '../../../controlplane/api/binding.ts';
import { sharedInProcess } from '../in-process.ts';

test('bindPod replaces a False PodScheduled and keeps other conditions', (t) => {
  const pod = {
    metadata: { name: 'p', annotations: { a: '1' } },
    spec: { containers: [] },
    status: {
      phase: 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' },
        { type: 'Example', status: 'True' },
      ],
    },
  };
  const bound = bindPod(pod, 'node-a', { b: '2' }, new Date('2026-01-01T00:00:00.123Z'));
  t.is((bound.spec as { nodeName: string }).nodeName, 'node-a');
  t.deepEqual(bound.metadata.annotations, { a: '1', b: '2' });
  t.deepEqual((bound.status as { conditions: unknown[] }).conditions, [
    { type: 'Example', status: 'True' },
    { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' },
  ]);
});

const shared = sharedInProcess(test);

test("POST pods/<name>/binding sets PodScheduled=True through the API, clearing the scheduler's False", async (t) => {
  const api = shared.client();
  await api.create(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'waiting', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  });
  const unschedulable = {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message: '0/2 nodes are available: 2 Insufficient cpu.',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  };
  await api.patch(
    refs.pods,
    'waiting',
    { status: { conditions: [unschedulable] } },
    { namespace: 'default', subresource: 'status' },
  );
  const bindingRef: ResourceRef = { group: '', version: 'v1', resource: 'pods/waiting/binding', namespaced: true };
  await api.create(bindingRef, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'waiting', namespace: 'default', annotations: { 'example.com/placed-by': 'test' } },
    target: { apiVersion: 'v1', kind: 'Node', name: 'node-a' },
  });
  const pod = await api.get<Pod>(refs.pods, 'waiting', 'default');
  t.is(pod.spec.nodeName, 'node-a');
  t.is(pod.metadata.annotations?.['example.com/placed-by'], 'test');
  const scheduled = pod.status?.conditions?.filter((c) => c.type === 'PodScheduled') ?? [];
  t.is(scheduled.length, 1);
  t.is(scheduled[0]!.status, 'True');
  t.is(scheduled[0]!.reason, undefined, 'the Unschedulable reason is gone');
  t.is(pod.status?.phase, 'Pending');
});
