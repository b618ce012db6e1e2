/**
 * Which API updates of a pod sync its worker: a change of what the pod should be does, the echo
 * of a status the node wrote does not (as the kubelet's pod config tells updates from status
 * reconciles), except for the conditions of readiness gates.
 */
import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { podUpdateNeedsSync } from '../../../agent/pods/pod-update.ts';
import { c, pod } from '../fixtures.ts';
import { Harness } from '../worker-harness.ts';

const base = (): Pod => ({
  ...pod({ readinessGates: [{ conditionType: 'example.com/lb' }] }),
  status: { phase: 'Pending' },
});

const cases: { name: string; change: (p: Pod) => Pod; syncs: boolean }[] = [
  { name: 'the same copy again', change: (p) => structuredClone(p), syncs: false },
  {
    name: 'a new status written by the node (phase, conditions, container states)',
    change: (p) => ({
      ...p,
      metadata: { ...p.metadata, resourceVersion: '99' },
      status: {
        phase: 'Running',
        podIP: '10.244.1.5',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          { name: 'app', ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: {} } },
        ],
      },
    }),
    syncs: false,
  },
  {
    name: 'a container image changed',
    change: (p) => ({ ...p, spec: { ...p.spec, containers: [c('app', { image: 'localhost/other:1' })] } }),
    syncs: true,
  },
  {
    name: 'an ephemeral container added',
    change: (p) => ({
      ...p,
      spec: { ...p.spec, ephemeralContainers: [{ ...c('debug'), targetContainerName: 'app' }] },
    }),
    syncs: true,
  },
  {
    name: 'deleted',
    change: (p) => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } }),
    syncs: true,
  },
  {
    name: 'a shorter grace',
    change: (p) => ({ ...p, metadata: { ...p.metadata, deletionGracePeriodSeconds: 0 } }),
    syncs: true,
  },
  {
    name: 'a label added',
    change: (p) => ({ ...p, metadata: { ...p.metadata, labels: { tier: 'web' } } }),
    syncs: true,
  },
  {
    name: 'an annotation added',
    change: (p) => ({ ...p, metadata: { ...p.metadata, annotations: { 'example.com/x': '1' } } }),
    syncs: true,
  },
  {
    name: "a readiness gate's condition set by a controller",
    change: (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'example.com/lb', status: 'True' }] } }),
    syncs: true,
  },
  {
    name: 'a condition that is no readiness gate of the pod',
    change: (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'example.com/other', status: 'True' }] } }),
    syncs: false,
  },
];

for (const { name, change, syncs } of cases) {
  test(`pod update: ${name} ${syncs ? 'syncs' : 'does not sync'} the worker`, (t) => {
    const before = base();
    t.is(podUpdateNeedsSync(before, change(before)), syncs);
  });
}

test('pod update: the echo of the status the worker wrote asks the runtime nothing; a spec change does', async (t) => {
  const h = new Harness();
  t.teardown(() => h.cleanup());
  const p = pod();
  const worker = h.worker(p);
  await worker.idle();
  const written = h.last();
  t.is(written.phase, 'Running');
  const calls = h.runtime.calls.length;
  worker.update({ ...p, metadata: { ...p.metadata, resourceVersion: '2' }, status: written });
  await worker.idle();
  t.deepEqual(
    h.runtime.calls.slice(calls).map((call) => call.method),
    [],
    'no sync for a status the node wrote itself',
  );
  worker.update({ ...p, metadata: { ...p.metadata, labels: { tier: 'web' } }, status: written });
  await worker.idle();
  t.true(h.runtime.calls.length > calls, 'a label change syncs the pod');
  worker.close();
});
