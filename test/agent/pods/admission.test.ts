/**
 * Admission: the node must still fit a pod sent to it (selector and required affinity, NoExecute
 * taints, host ports, pods, cpu and memory next to the pods already admitted); a refused pod is
 * never started and is reported Failed with the kubelet's reason; running pods are never refused
 * after an agent restart.
 */
import test from 'ava';
import type { Pod, PodStatus } from '../../../kube/corev1.ts';
import { admitPod, podRequest, type AdmissionNode } from '../../../agent/pods/admission.ts';
import { PodManager } from '../../../agent/pods/pod-manager.ts';
import type { PodApi } from '../../../agent/pods/status-writer.ts';
import { c, pod } from '../fixtures.ts';
import { Harness } from '../worker-harness.ts';

const node: AdmissionNode = {
  name: 'node-1',
  labels: { 'kubernetes.io/hostname': 'node-1', zone: 'a', cores: '8' },
  taints: [{ key: 'maintenance', value: 'soon', effect: 'NoSchedule' }],
  allocatable: { cpu: 2000, memory: 2 * 2 ** 30, pods: 3 },
};

const asking = (cpu: string, memory: string, name = 'web'): Pod =>
  pod({ containers: [{ name: 'app', image: 'x', resources: { requests: { cpu, memory } } }] }, name);

const rows: {
  title: string;
  pod: Pod;
  admitted?: Pod[];
  on?: Partial<AdmissionNode>;
  reason?: string;
  message?: RegExp;
}[] = [
  { title: 'a pod that fits is admitted', pod: asking('500m', '256Mi') },
  { title: 'nodeSelector that matches', pod: pod({ nodeSelector: { zone: 'a' } }) },
  {
    title: 'nodeSelector that does not match',
    pod: pod({ nodeSelector: { zone: 'b' } }),
    reason: 'NodeAffinity',
    message: /Predicate NodeAffinity failed/,
  },
  {
    title: 'required node affinity with Gt on a label',
    pod: pod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['16'] }] }],
          },
        },
      },
    }),
    reason: 'NodeAffinity',
  },
  {
    title: 'required node affinity: terms are ORed, matchFields names the node',
    pod: pod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z'] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] },
            ],
          },
        },
      },
    }),
  },
  { title: 'a NoSchedule taint does not refuse a pod sent to the node', pod: pod() },
  {
    title: 'an untolerated NoExecute taint refuses the pod',
    pod: pod(),
    on: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] },
    reason: 'TaintToleration',
    message: /taint \{dedicated: db\}:NoExecute/,
  },
  {
    title: 'a tolerated NoExecute taint does not',
    pod: pod({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }),
    on: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] },
  },
  {
    title: 'a host port another pod holds',
    pod: pod({ containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] }),
    admitted: [
      pod({ containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 81, hostPort: 8080 }] }] }, 'other'),
    ],
    reason: 'NodePorts',
  },
  {
    title: 'more pods than the node takes',
    pod: pod({}, 'fourth'),
    admitted: [pod({}, 'a'), pod({}, 'b'), pod({}, 'c')],
    reason: 'OutOfpods',
    message: /used: 3, capacity: 3/,
  },
  {
    title: 'more cpu than is left',
    pod: asking('1', '1Mi'),
    admitted: [asking('1500m', '1Mi', 'big')],
    reason: 'OutOfcpu',
    message: /^Node didn't have enough resource: cpu, requested: 1000, used: 1500, capacity: 2000$/,
  },
  { title: 'more memory than is left', pod: asking('1m', '3Gi'), reason: 'OutOfmemory' },
];

for (const row of rows) {
  test(`admission: ${row.title}`, (t) => {
    const verdict = admitPod(row.pod, { ...node, ...row.on }, row.admitted ?? []);
    if (row.reason === undefined) return t.deepEqual(verdict, { admit: true });
    if (verdict.admit) return t.fail(`admitted, expected ${row.reason}`);
    t.is(verdict.reason, row.reason);
    if (row.message) t.regex(verdict.message, row.message);
  });
}

test('admission: init containers run one at a time, sidecars add up', (t) => {
  const p = pod({
    initContainers: [
      { name: 'sidecar', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
      { name: 'migrate', image: 'x', resources: { requests: { cpu: '1500m' } } },
      { name: 'seed', image: 'x', resources: { requests: { cpu: '200m' } } },
    ],
    containers: [{ name: 'app', image: 'x', resources: { requests: { cpu: '300m' } } }],
  });
  // max(sidecar + app = 400m, sidecar + migrate = 1600m)
  t.is(podRequest(p, 'cpu'), 1600);
});

class RecordingApi implements PodApi {
  readonly written: { uid: string; status: PodStatus }[] = [];
  readonly deleted: string[] = [];
  async writeStatus(p: Pod, status: PodStatus): Promise<void> {
    this.written.push({ uid: p.metadata.uid!, status });
  }
  async deletePod(p: Pod): Promise<void> {
    this.deleted.push(p.metadata.uid!);
  }
}

const harnesses: Harness[] = [];
test.after.always(() => {
  for (const h of harnesses) h.cleanup();
});

function setup(admissionNode: AdmissionNode) {
  const h = new Harness();
  harnesses.push(h);
  const api = new RecordingApi();
  const { onStatus: _s, onTerminated: _t, ...deps } = h.deps();
  return { h, api, manager: new PodManager({ ...deps, api, admissionNode: () => admissionNode }) };
}

test('pod manager: a refused pod gets no sandbox, phase Failed with the reason, and goes when deleted', async (t) => {
  const { h, api, manager } = setup(node);
  const refused = pod({ nodeSelector: { zone: 'b' } }, 'misplaced');
  manager.upsert(refused);
  await manager.statuses.flushed();
  t.is(manager.workers.size, 0);
  t.deepEqual(await h.runtime.listPodSandbox(), []);
  t.like(api.written.at(-1), { uid: 'uid-misplaced', status: { phase: 'Failed', reason: 'NodeAffinity' } });
  manager.upsert(refused);
  await manager.statuses.flushed();
  t.is(api.written.length, 1, 'an update does not admit it again');
  manager.upsert({ ...refused, metadata: { ...refused.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } });
  await manager.statuses.flushed();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(api.deleted, ['uid-misplaced']);
});

test('pod manager: admitted pods count against allocatable; running pods are adopted without admission', async (t) => {
  const small = { ...node, allocatable: { ...node.allocatable, pods: 1 } };
  const first = setup(small);
  first.manager.upsert(pod({ containers: [c('app')] }, 'one'));
  for (const w of first.manager.workers.values()) await w.idle();
  first.manager.upsert(pod({}, 'two'));
  await first.manager.statuses.flushed();
  t.like(
    first.api.written.find((w) => w.uid === 'uid-two'),
    { status: { phase: 'Failed', reason: 'OutOfpods' } },
  );
  first.manager.close();
  // a new agent on the same runtime, with a node that would now refuse pod one: it runs, so it stays
  const again = new PodManager({
    ...first.h.deps(),
    api: new RecordingApi(),
    admissionNode: () => ({ ...small, allocatable: { ...small.allocatable, pods: 0 } }),
  });
  await again.loadAdopted();
  again.upsert(pod({ containers: [c('app')] }, 'one'));
  t.is(again.workers.size, 1, 'the running pod is adopted');
  for (const w of again.workers.values()) await w.idle();
  t.is((await first.h.runtime.listPodSandbox()).length, 1, 'and not started a second time');
  again.close();
});
