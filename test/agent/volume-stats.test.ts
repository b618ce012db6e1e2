/**
 * Persistent volume usage on the kubelet port: measured from the folder on the disk (a real temp
 * folder here), reported in /stats/summary as a pod's `volume` entry with its pvcRef, and as the
 * kubelet_volume_stats_* gauges labelled with the claim.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { measureVolume } from '../../agent/kubelet-server/volume-stats.ts';
import { summarize, type HostSample } from '../../agent/kubelet-server/stats.ts';
import { kubeletMetricsText } from '../../agent/kubelet-server/metrics.ts';
import type { ClaimMount } from '../../agent/pods/volumes/claim-mount.ts';

const folder = mkdtempSync(join(tmpdir(), 'bosun-volume-stats-'));
test.after.always(() => rmSync(folder, { recursive: true, force: true }));

const mount = (path: string): ClaimMount => ({
  volume: 'data',
  claim: 'data-db-0',
  namespace: 'default',
  pvName: 'pvc-1',
  path,
  readOnly: false,
  localPath: true,
  kind: 'local',
  capacityBytes: 64 * 1024 * 1024,
});

const host: HostSample = {
  timeMs: Date.parse('2026-01-01T00:00:00Z'),
  cpuUsageCoreNanoSeconds: 0,
  memTotalBytes: 1,
  memAvailableBytes: 1,
  memFreeBytes: 1,
  interfaces: [],
  fs: { capacityBytes: 1, availableBytes: 1, usedBytes: 0, inodes: 1, inodesFree: 1 },
  bootTimeMs: 0,
};

test('a volume is measured from its folder: used bytes and entries, capacity from its PV', async (t) => {
  mkdirSync(join(folder, 'sub'));
  writeFileSync(join(folder, 'sub', 'a'), Buffer.alloc(64 * 1024, 1));
  const usage = await measureVolume('pod-uid', mount(folder));
  if (usage === undefined) return t.fail('not measured');
  t.true(usage.usedBytes >= 64 * 1024, `${usage.usedBytes}`);
  t.is(usage.inodesUsed, 3, 'the folder, sub and a');
  t.is(usage.capacityBytes, 64 * 1024 * 1024);
  t.true(usage.availableBytes <= usage.capacityBytes - usage.usedBytes);
  t.true(usage.inodes > 0);
  t.is(await measureVolume('pod-uid', mount(join(folder, 'missing'))), undefined);

  const pod: Pod = { metadata: { name: 'db-0', namespace: 'default', uid: 'pod-uid' }, spec: { containers: [] } };
  const summary = summarize({
    nodeName: 'node-1',
    host,
    previousHost: undefined,
    pods: [pod],
    sandboxStats: [],
    containerStats: [],
    volumes: [usage],
  });
  t.like(summary.pods[0].volume[0], {
    name: 'data',
    pvcRef: { name: 'data-db-0', namespace: 'default' },
    usedBytes: usage.usedBytes,
    capacityBytes: 64 * 1024 * 1024,
  });

  const text = kubeletMetricsText({
    nodeName: 'node-1',
    runningPods: 1,
    containersByState: {},
    requests: new Map(),
    volumes: [usage],
  });
  t.regex(text, /# TYPE kubelet_volume_stats_used_bytes gauge/);
  t.regex(
    text,
    new RegExp(
      `kubelet_volume_stats_used_bytes\\{namespace="default",persistentvolumeclaim="data-db-0"\\} ${usage.usedBytes}`,
    ),
  );
  t.regex(
    text,
    /kubelet_volume_stats_capacity_bytes\{namespace="default",persistentvolumeclaim="data-db-0"\} 67108864/,
  );
  t.regex(text, /kubelet_volume_stats_inodes_used\{namespace="default",persistentvolumeclaim="data-db-0"\} 3/);
});
