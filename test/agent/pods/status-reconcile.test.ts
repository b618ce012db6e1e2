/** The status manager's drift check and its 10 s reconcile: statuses that someone else replaced are written again. */
import test from 'ava';
import pino from 'pino';
import type { Pod, PodStatus } from '../../../kube/corev1.ts';
import { statusNeedsReconcile } from '../../../agent/pods/status-reconcile.ts';
import { StatusWriter, type PodApi } from '../../../agent/pods/status-writer.ts';
import { ManualClock } from '../manual-clock.ts';
import { pod } from '../fixtures.ts';

const ready = (status: 'True' | 'False', extra: Record<string, string> = {}) => ({
  type: 'Ready',
  status,
  lastTransitionTime: '2026-01-01T12:00:00Z',
  ...extra,
});

const written: PodStatus = {
  phase: 'Running',
  hostIP: '10.0.0.11',
  podIP: '10.244.1.5',
  podIPs: [{ ip: '10.244.1.5' }],
  startTime: '2026-01-01T12:00:00Z',
  qosClass: 'BestEffort',
  conditions: [{ type: 'Initialized', status: 'True' }, ready('True'), { type: 'ContainersReady', status: 'True' }],
  containerStatuses: [
    {
      name: 'app',
      ready: true,
      started: true,
      restartCount: 0,
      image: 'localhost/bosun/busybox:1.35',
      imageID: 'sha256:1',
      containerID: 'containerd://c1',
      state: { running: { startedAt: '2026-01-01T12:00:01Z' } },
    },
  ],
};

const variant = (change: (s: PodStatus) => void): PodStatus => {
  const copy = structuredClone(written);
  change(copy);
  return copy;
};

const cases: { name: string; api: PodStatus | undefined; drifted: boolean }[] = [
  { name: 'the same status', api: structuredClone(written), drifted: false },
  { name: 'conditions in another order', api: variant((s) => s.conditions!.reverse()), drifted: false },
  {
    name: 'a condition the server or a controller added (readiness gate, DisruptionTarget)',
    api: variant((s) => s.conditions!.push({ type: 'DisruptionTarget', status: 'True' })),
    drifted: false,
  },
  {
    name: 'only a transition time differs (another precision)',
    api: variant((s) => {
      s.conditions![1]!.lastTransitionTime = '2026-01-01T12:00:00.000000Z';
    }),
    drifted: false,
  },
  {
    name: 'fields the server fills in',
    api: variant((s) => {
      (s as Record<string, unknown>).observedGeneration = 3;
      s.nominatedNodeName = 'node-2';
    }),
    drifted: false,
  },
  {
    name: 'MarkPodsNotReady: Ready=False by the node controller',
    api: variant((s) => {
      s.conditions![1] = ready('False');
    }),
    drifted: true,
  },
  {
    name: 'the Ready condition is gone',
    api: variant((s) => {
      s.conditions!.splice(1, 1);
    }),
    drifted: true,
  },
  {
    name: 'an older snapshot: Pending, no containers',
    api: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    drifted: true,
  },
  { name: 'no status at all', api: undefined, drifted: true },
  {
    name: 'another restart count',
    api: variant((s) => {
      s.containerStatuses![0]!.restartCount = 1;
    }),
    drifted: true,
  },
  {
    name: 'a container state of another kind beside ours',
    api: variant((s) => {
      s.containerStatuses![0]!.state = { ...s.containerStatuses![0]!.state, waiting: { reason: 'CrashLoopBackOff' } };
    }),
    drifted: true,
  },
  {
    name: 'another pod IP',
    api: variant((s) => {
      s.podIP = '10.244.1.9';
    }),
    drifted: true,
  },
  {
    name: 'a patched message',
    api: variant((s) => {
      s.message = 'hello';
    }),
    drifted: false,
  },
];

for (const { name, api, drifted } of cases) {
  test(`drift: ${name} → ${drifted ? 'write again' : 'nothing to do'}`, (t) => {
    t.is(statusNeedsReconcile(written, api), drifted);
  });
}

class RecordingApi implements PodApi {
  readonly writes: PodStatus[] = [];
  async writeStatus(_pod: Pod, status: PodStatus): Promise<void> {
    this.writes.push(structuredClone(status));
  }
  async deletePod(): Promise<void> {}
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function started() {
  const clock = new ManualClock(Date.parse('2026-01-01T12:00:00Z'));
  const api = new RecordingApi();
  const writer = new StatusWriter(api, clock, pino({ level: 'silent' }));
  writer.startReconciling();
  return { clock, api, writer };
}

test('reconcile: a status the node controller replaced is written again within 10 s, and only once', async (t) => {
  const { clock, api, writer } = started();
  const p = pod();
  writer.set(p, written);
  await writer.flushed();
  writer.observed({ ...p, status: structuredClone(written) });
  clock.advance(10_000);
  await settle();
  t.is(api.writes.length, 1, 'an API copy that holds what was written causes no write');
  writer.observed({
    ...p,
    status: variant((s) => {
      s.conditions![1] = ready('False', { reason: 'NodeNotReady' });
    }),
  });
  clock.advance(9_999);
  await settle();
  clock.advance(1);
  await settle();
  t.is(api.writes.length, 2, 'written again at the next 10 s round');
  t.deepEqual(api.writes.at(-1), written, 'the status last written, unchanged');
  clock.advance(30_000);
  await settle();
  t.is(api.writes.length, 2, 'no echo yet: nothing compared, nothing written again');
  writer.observed({ ...p, status: structuredClone(written) });
  clock.advance(10_000);
  await settle();
  t.is(api.writes.length, 2);
  t.is(writer.reconciles, 1);
  writer.close();
  t.is(clock.pending, 0, 'closed: no round waits on the clock');
});

test('reconcile: never writes an older status over a newer one of its own', async (t) => {
  const { clock, api, writer } = started();
  const p = pod();
  writer.set(p, written);
  await writer.flushed();
  const newer = variant((s) => {
    s.containerStatuses![0]!.restartCount = 1;
  });
  writer.set(p, newer);
  await writer.flushed();
  // the watch delivers the echo of the first write after the second one landed
  writer.observed({ ...p, status: structuredClone(written) });
  clock.advance(10_000);
  await settle();
  t.is(api.writes.length, 3);
  t.deepEqual(
    api.writes.map((s) => s.containerStatuses?.[0]?.restartCount),
    [0, 1, 1],
    'only the newest status is ever written',
  );
  writer.close();
});
