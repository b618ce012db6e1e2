/**
 * A node cut off past the node-monitor grace period comes back into service by itself: the node
 * controller marks its pods Ready=False (MarkPodsNotReady) while it is unreachable; once the link
 * is back, the node's agent finds the API's copy of each pod's status differs from what it last
 * wrote and writes it again, so the pods are Ready=True again without restarting (same
 * containers, same restart counts). Two sandbox nodes, real containerd, a real `bosun server`.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { bedImages } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';

// grace shortened from 50 s so the partition shows within the test's time, yet longer than the
// agents' 10 s lease renewal so that the healthy node never looks silent
const cluster = useSandboxCluster({
  idPrefix: 'bph',
  nodes: 2,
  serverArgs: ['--node-monitor-grace-period', '15s', '--node-monitor-period', '1s'],
});
const kubectl = cluster.kubectl;

const pods = async () =>
  (JSON.parse(await kubectl('get', 'pods', '-l', 'app=steady', '-o', 'json')) as { items: Pod[] }).items;
const ready = (pod: Pod) => pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const containers = (list: Pod[]) =>
  list
    .map(
      (p) =>
        `${p.metadata.name}:${p.status?.containerStatuses?.map((c) => `${c.containerID}#${c.restartCount}`).join(',')}`,
    )
    .sort();

test.serial(
  "after a partition longer than the grace period, the node's pods turn Ready again without restarting",
  async (t) => {
    const manifest = join(cluster.sandbox().stateDir, 'steady.yaml');
    writeFileSync(
      manifest,
      ['a', 'b']
        .map(
          (n) => `apiVersion: v1
kind: Pod
metadata: {name: steady-${n}, namespace: default, labels: {app: steady}}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ${bedImages.busybox}, command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']}]
`,
        )
        .join('---\n'),
    );
    await kubectl('apply', '-f', manifest);
    const running = await waitFor(
      async () => {
        const list = await pods();
        return list.length === 2 && list.every((p) => ready(p) === 'True') ? list : undefined;
      },
      { what: 'both pods Ready on node-1', timeoutMs: 60_000, intervalMs: 500 },
    );
    const before = containers(running);

    await cluster.sandbox().partition('node-1');
    try {
      await waitFor(async () => (await pods()).every((p) => ready(p) === 'False'), {
        what: "the node controller marking node-1's pods Ready=False",
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    } finally {
      await cluster.sandbox().heal('node-1');
    }
    const healedAt = Date.now();
    await waitFor(
      async () =>
        (
          await kubectl('get', 'node', 'node-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
        ).trim() === 'True',
      {
        what: 'node-1 Ready again after heal',
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    const back = await waitFor(
      async () => {
        const list = await pods();
        return list.every((p) => ready(p) === 'True') ? list : undefined;
      },
      {
        what: "node-1's pods Ready=True again after heal (the agent writes its status again)",
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    t.log(`pods Ready again ${((Date.now() - healedAt) / 1000).toFixed(1)} s after heal`);
    t.deepEqual(containers(back), before, 'the same containers, no restarts');
  },
);
