/**
 * The kubelet port's /metrics/resource as metrics-server (and bosun server) read it: each
 * container's cumulative CPU and working set at the time CRI sampled them, and its start time from
 * the status the agent reported, so that a restarted container (whose counters began again) is
 * recognised; a start the agent does not know is left out rather than written as "now".
 */
import test from 'ava';
import type { Pod } from '../../kube/corev1.ts';
import type { ContainerStats } from '../../cri/types.ts';
import { summarize, type HostSample } from '../../agent/kubelet-server/stats.ts';
import { resourceMetricsText } from '../../agent/kubelet-server/metrics.ts';
import { criLabel } from '../../agent/pods/cri-labels.ts';
import { decodeResourceMetrics } from '../../controlplane/metrics/resource-metrics-decode.ts';

const now = Date.parse('2026-06-01T12:00:00Z');

const host: HostSample = {
  timeMs: now,
  cpuUsageCoreNanoSeconds: 5_000e9,
  memTotalBytes: 8 * 1024 ** 3,
  memAvailableBytes: 6 * 1024 ** 3,
  memFreeBytes: 5 * 1024 ** 3,
  interfaces: [],
  fs: { capacityBytes: 1, availableBytes: 1, usedBytes: 0, inodes: 1, inodesFree: 1 },
  bootTimeMs: now - 86_400_000,
};

function stats(uid: string, name: string, cpuSeconds: number, memory: number): ContainerStats {
  const timestamp = (now - 500) * 1e6;
  return {
    attributes: {
      id: `${uid}-${name}`,
      metadata: { name, attempt: 0 },
      labels: { [criLabel.podUid]: uid, [criLabel.containerName]: name },
      annotations: {},
    },
    cpu: { timestamp, usageCoreNanoSeconds: { value: cpuSeconds * 1e9 } },
    memory: { timestamp, workingSetBytes: { value: memory } },
  };
}

test('container start times come from the reported status; an unknown start is left out', (t) => {
  const web: Pod = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
    spec: { containers: [{ name: 'app' }, { name: 'sidecar' }] },
    status: {
      startTime: '2026-06-01T10:00:00Z',
      containerStatuses: [
        // restarted at 11:30: its counters began again then
        {
          name: 'app',
          ready: true,
          restartCount: 1,
          image: '',
          imageID: '',
          state: { running: { startedAt: '2026-06-01T11:30:00Z' } },
        },
        // not running (yet): the pod's start stands for it
        { name: 'sidecar', ready: false, restartCount: 0, image: '', imageID: '', state: { waiting: { reason: 'x' } } },
      ],
    },
  } as Pod;
  const fresh: Pod = {
    metadata: { name: 'fresh', namespace: 'shop', uid: 'u2' },
    spec: { containers: [{ name: 'c' }] },
  } as Pod;
  const summary = summarize({
    nodeName: 'node-1',
    host,
    previousHost: undefined,
    pods: [web, fresh],
    sandboxStats: [],
    containerStats: [
      stats('u1', 'app', 12, 64 << 20),
      stats('u1', 'sidecar', 1, 8 << 20),
      stats('u2', 'c', 2, 1 << 20),
    ],
  });
  const text = resourceMetricsText(summary);
  t.regex(text, /^container_start_time_seconds\{container="app",namespace="shop",pod="web"\} 1780313400 \d+$/m);
  t.regex(text, /^container_start_time_seconds\{container="sidecar",namespace="shop",pod="web"\} 1780308000 \d+$/m);
  t.notRegex(text, /container_start_time_seconds\{container="c"/);
  const scrape = decodeResourceMetrics(text, now);
  const app = scrape.pods.get('shop/web')?.get('app');
  t.is(app?.startMs, Date.parse('2026-06-01T11:30:00Z'));
  t.is(app?.cpuNanoSeconds, 12e9);
  t.is(app?.memoryBytes, 64 << 20);
  t.is(scrape.pods.get('shop/fresh')?.get('c')?.startMs, 0);
});
