/**
 * Persistent volumes vs emptyDir: `npm run bench -- storage [--quick] [--concurrency N]`.
 *
 * On one sandbox node joined through `bosun join` (real containerd, `bosun server` with its
 * scheduler and controllers, the agent's local-path provisioner), `pods` pods of each kind (50;
 * 10 with --quick) are started `concurrency` at a time through the scheduler, the two kinds
 * alternating so that both meet the same load on this shared machine:
 *  - emptyDir: the pod has an emptyDir volume; timed from the pod's create request to the watch
 *    event that shows its container running;
 *  - claimed:  the pod has its own claim of the default local-path class (WaitForFirstConsumer):
 *    timed from the claim's create request (then the pod's, at once) to the same event, so the
 *    time covers scheduling with the claim, selected-node, provisioning (folder + PV), binding
 *    and the mount.
 * Reports p50/p99 of each and the ratio of the p50s (target <= 1.5), where a claim's time goes,
 * and how many FailedMount events there were. Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { KubeClient } from '../kube/client.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { refs, type ResourceRef } from '../kube/resource-ref.ts';
import type { Pod } from '../kube/corev1.ts';
import type { KubeObject } from '../kube/types.ts';
import { bedImages, createTestSandbox } from '../test/bed/index.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { defaultStorageClass } from '../host/init/default-storage-class.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { watchRunningPods } from './running-pods.ts';
import { percentile } from './soak/report.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '10' } },
});
const pods = values.quick ? 10 : 50;
const concurrency = Number(values.concurrency);
// a container that stops at once on TERM, so the first run's pods are gone quickly
const idle = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];
const round = (n: number) => Math.round(n * 10) / 10;

function benchPod(name: string, volume: Record<string, unknown>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'app', image: bedImages.busybox, command: idle, volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      ],
      volumes: [{ name: 'data', ...volume }],
    },
  };
}

type Kind = 'scratch' | 'claimed';

/**
 * Starts `pods` pods of each kind, alternating, `concurrency` at a time; each sample is from
 * `start(kind, name)` to the pod running.
 */
async function timed(
  client: KubeClient,
  start: (kind: Kind, name: string) => Promise<void>,
): Promise<Record<Kind, number[]>> {
  const running = await watchRunningPods(client, 'default');
  const samples: Record<Kind, number[]> = { scratch: [], claimed: [] };
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < 2 * pods) {
          const i = next++;
          const kind: Kind = i % 2 === 0 ? 'scratch' : 'claimed';
          const name = `${kind}-${Math.floor(i / 2)}`;
          const observed = running.expect(name, performance.now());
          await start(kind, name);
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<number>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${name} not running within 120 s`)), 120_000);
          });
          samples[kind].push(await Promise.race([observed, late]).finally(() => clearTimeout(timer)));
        }
      }),
    );
    return samples;
  } finally {
    await running.stop();
  }
}

type Stage = (object: Any) => boolean;
type Any = Record<string, any>;

/**
 * When each object of `ref` first reached each stage (performance.now()), by name: where a claimed
 * pod's time goes (the scheduler's choice, the provisioner, the binder, the pod's binding).
 */
async function watchStages(client: KubeClient, ref: ResourceRef, stages: Record<string, Stage>) {
  const seen = new Map<string, Map<string, number>>();
  const abort = new AbortController();
  const list = await client.list(ref, { namespace: 'default' });
  const watching = (async () => {
    try {
      for await (const event of client.watch(ref, {
        namespace: 'default',
        resourceVersion: list.metadata.resourceVersion ?? '',
        signal: abort.signal,
      })) {
        const name = event.object.metadata.name ?? '';
        const reached = seen.get(name) ?? new Map<string, number>();
        seen.set(name, reached);
        for (const [stage, test] of Object.entries(stages))
          if (!reached.has(stage) && test(event.object as Any)) reached.set(stage, performance.now());
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  return {
    seen,
    stop: async () => {
      abort.abort();
      await watching;
    },
  };
}

/** The median time from each object's start to each stage it reached. */
function medians(seen: Map<string, Map<string, number>>, starts: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  const names = new Set([...seen.values()].flatMap((reached) => [...reached.keys()]));
  for (const stage of names) {
    const offsets = [...starts].flatMap(([name, start]) => {
      const at = seen.get(name)?.get(stage);
      return at === undefined ? [] : [at - start];
    });
    if (offsets.length > 0) out[stage] = round(percentile(offsets, 50));
  }
  return out;
}

let sandbox: Sandbox | undefined;
let client: KubeClient | undefined;
try {
  sandbox = await createTestSandbox('bsb', 1);
  const plane = await sandbox.startControlPlane();
  await sandbox.joinAgents();
  client = new KubeClient(loadKubeconfig(plane.kubeconfig).client);
  const api = client;
  await waitFor(
    async () =>
      (await api.list(refs.nodes)).items.some((n) =>
        ((n.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      ),
    { what: 'node-1 Ready', timeoutMs: 120_000, intervalMs: 500 },
  );
  await api.create(refs.storageclasses, structuredClone(defaultStorageClass) as unknown as KubeObject);

  const claimStages = await watchStages(api, refs.persistentvolumeclaims, {
    nodeSelected: (c) => c.metadata.annotations?.['volume.kubernetes.io/selected-node'] !== undefined,
    provisionerAsked: (c) => c.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'] !== undefined,
    volumeNamed: (c) => !!c.spec?.volumeName,
    bound: (c) => c.status?.phase === 'Bound',
  });
  const podStages = await watchStages(api, refs.pods, { podBound: (p) => !!p.spec?.nodeName });
  const starts: Record<Kind, Map<string, number>> = { scratch: new Map(), claimed: new Map() };
  const samples = await timed(api, async (kind, name) => {
    starts[kind].set(name, performance.now());
    if (kind === 'scratch') {
      await api.create<Pod>(refs.pods, benchPod(name, { emptyDir: {} }));
      return;
    }
    await api.create(refs.persistentvolumeclaims, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } },
    } as KubeObject);
    await api.create<Pod>(refs.pods, benchPod(name, { persistentVolumeClaim: { claimName: name } }));
  });
  const emptyDirSamples = samples.scratch;
  const claimSamples = samples.claimed;
  // a claimed pod that failed a start (its volume not ready) waited out a retry: count them
  const failedMounts = (await api.list(refs.events, { namespace: 'default' })).items.filter(
    (e) => (e as Any).reason === 'FailedMount',
  );
  for (const e of failedMounts.slice(0, 3)) process.stdout.write(`FailedMount: ${(e as Any).message}\n`);
  await claimStages.stop();
  await podStages.stop();
  const stageMedians = {
    ...medians(claimStages.seen, starts.claimed),
    ...medians(podStages.seen, starts.claimed),
  };
  const emptyDirBound = medians(podStages.seen, starts.scratch).podBound;
  const ratio = Math.round((percentile(claimSamples, 50) / percentile(emptyDirSamples, 50)) * 100) / 100;
  const result = {
    suite: 'storage',
    pods,
    concurrency,
    emptyDir: { p50: round(percentile(emptyDirSamples, 50)), p99: round(percentile(emptyDirSamples, 99)) },
    claims: { p50: round(percentile(claimSamples, 50)), p99: round(percentile(claimSamples, 99)) },
    ratio,
    targets: { ratio: 1.5 },
    unit: 'ms',
    p50_ms: round(percentile(claimSamples, 50)),
    p99_ms: round(percentile(claimSamples, 99)),
    claim_stages_p50_ms: stageMedians,
    emptydir_pod_bound_p50_ms: emptyDirBound,
    failed_mount_events: failedMounts.length,
    samples_ms: { emptyDir: emptyDirSamples.map(round), claims: claimSamples.map(round) },
  };
  process.stdout.write(`emptyDir            p50 ${result.emptyDir.p50} ms  p99 ${result.emptyDir.p99} ms\n`);
  process.stdout.write(
    `claim (local-path)  p50 ${result.claims.p50} ms  p99 ${result.claims.p99} ms  (ratio ${ratio})\n`,
  );
  process.stdout.write(
    `claim stages p50 (from the claim's create): ${Object.entries(stageMedians)
      .sort((a, b) => a[1] - b[1])
      .map(([stage, ms]) => `${stage} ${ms} ms`)
      .join(', ')}; an emptyDir pod is bound after ${emptyDirBound} ms\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  client?.close();
  await sandbox?.destroy();
}
