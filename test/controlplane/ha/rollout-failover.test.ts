/**
 * kill -9 the leading server in the middle of a rollout: two real servers on one etcd (leader
 * election at lease 4 s / renew 3 s / retry 1 s), three hollow nodes (the real agent over a fake
 * runtime, `bosun hollow`) joined to the standby, a Deployment of 100 replicas. The leader is
 * killed while the replicas are being created; the standby takes over, the rollout completes
 * (real kubectl's `rollout status` against the survivor), no node turns NotReady, no container
 * restarts, and every write the survivor acknowledged during the failover is there.
 * The nodes talk to the survivor only: agents that fail over between servers come separately.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HollowProcess } from '../../../bench/scale/hollow-process.ts';
import { KubeClient } from '../../../kube/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { kubectlOk } from '../../bed/kubectl.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { waitFor } from '../ports.ts';
import { fastElection, startHaServer, stopHaServers, type HaServer } from './servers.ts';

const repo = resolve(import.meta.dirname, '../../..');
const nodeCount = 3;
const replicas = 100;
const controllerLease = 'kube-system/kube-controller-manager';

let etcd: EtcdProcess;
let leader: HaServer;
let survivor: HaServer;
let hollow: HollowProcess | undefined;
let api: KubeClient;

test.before(async () => {
  etcd = await startEtcd();
  leader = await startHaServer({ etcdFlags: etcd.serverFlags, serverArgs: fastElection });
  await waitFor('the first server to lead', () => leader.leadership(controllerLease).length > 0, 30_000);
  survivor = await startHaServer({
    etcdFlags: etcd.serverFlags,
    sharePkiWith: leader.process,
    serverArgs: fastElection,
  });
  api = new KubeClient({ ...loadKubeconfig(survivor.process.kubeconfig).client, timeoutMs: 60_000 });
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(repo, 'cli/main.ts'),
    'token',
    'create',
    '--kubeconfig',
    survivor.process.kubeconfig,
    '--print-join-command',
  ]);
  const words = stdout.trim().split('\n').at(-1)!.split(/\s+/);
  hollow = new HollowProcess({
    server: survivor.process.url,
    joinArgs: [
      '--token',
      words[words.indexOf('--token') + 1]!,
      '--discovery-token-ca-cert-hash',
      words[words.indexOf('--discovery-token-ca-cert-hash') + 1]!,
    ],
    nodes: nodeCount,
    firstIndex: 1,
    namePrefix: 'ha-node',
    joinConcurrency: 3,
    podResyncSeconds: 5,
  });
});

test.after.always(async () => {
  await hollow?.stop();
  api?.close();
  await stopHaServers([leader, survivor]);
  await etcd?.destroy();
});

type NodeObject = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type PodObject = KubeObject & {
  status?: { phase?: string; containerStatuses?: { restartCount?: number }[] };
};

const readyNodes = async () =>
  (await api.list<NodeObject>(refs.nodes)).items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;

test.serial(
  'kill -9 the leader during a rollout of 100 replicas: the survivor finishes it, nothing lost',
  async (t) => {
    await waitFor(
      `${nodeCount} hollow nodes Ready`,
      async () => {
        if (!hollow!.running) throw new Error(`bosun hollow ${hollow!.exitReason}: ${hollow!.stderrTail.slice(-300)}`);
        return (await readyNodes()) === nodeCount;
      },
      180_000,
    );
    // from now on, any node that is not Ready at a look is counted
    let notReadySeen = 0;
    let watching = true;
    const watchNodes = (async () => {
      while (watching) {
        try {
          if ((await readyNodes()) !== nodeCount) notReadySeen++;
        } catch {
          // the survivor is busy taking over: the next look counts
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    // every pod of the rollout ever created: two controller managers at once would create too many
    const created = new Set<string>();
    const stopWatch = new AbortController();
    const watchPods = (async () => {
      const since = (await api.list(refs.pods, { namespace: 'default' })).metadata.resourceVersion;
      for await (const event of api.watch(refs.pods, {
        namespace: 'default',
        labelSelector: 'app=rollout',
        ...(since ? { resourceVersion: since } : {}),
        signal: stopWatch.signal,
      }))
        if (event.type === 'ADDED') created.add(event.object.metadata.name ?? '');
    })().catch(() => undefined);
    await api.create(refs.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rollout', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'rollout' } },
        template: {
          metadata: { labels: { app: 'rollout' } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.local/web:1' }] },
        },
      },
    } as KubeObject);
    await waitFor(
      'the rollout to be under way',
      async () =>
        (await api.list(refs.pods, { namespace: 'default', labelSelector: 'app=rollout' })).items.length >= 10,
      60_000,
    );
    const ledBefore = survivor.leadership(controllerLease).length;
    const killedAt = Date.now();
    await leader.process.kill();
    // writes acknowledged by the survivor while it takes over
    const acknowledged: string[] = [];
    while (survivor.leadership(controllerLease).length === ledBefore && Date.now() - killedAt < 30_000) {
      const name = `during-failover-${acknowledged.length}`;
      try {
        await api.create(refs.configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default' },
        });
        acknowledged.push(name);
      } catch {
        // not acknowledged: not counted
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    t.true(survivor.leadership(controllerLease).length > ledBefore, 'the survivor leads');
    t.log(`survivor led ${survivor.leadership(controllerLease).at(-1)!.time - killedAt} ms after kill -9`);

    await kubectlOk({ kubeconfig: survivor.process.kubeconfig, timeoutMs: 240_000 }, [
      'rollout',
      'status',
      'deployment/rollout',
      '--timeout=220s',
    ]);
    t.log(`rollout complete ${Date.now() - killedAt} ms after kill -9`);
    watching = false;
    await watchNodes;
    stopWatch.abort();
    await watchPods;

    const pods = (await api.list<PodObject>(refs.pods, { namespace: 'default', labelSelector: 'app=rollout' })).items;
    t.is(pods.filter((p) => p.status?.phase === 'Running').length, replicas);
    t.true(
      pods.every((p) => (p.status?.containerStatuses ?? []).every((c) => (c.restartCount ?? 0) === 0)),
      'no container restarted',
    );
    t.is(notReadySeen, 0, 'no node turned NotReady');
    t.is(created.size, replicas, 'no pod was created twice over (one controller manager at a time)');
    const stored = (await api.list(refs.configmaps, { namespace: 'default' })).items.map((c) => c.metadata.name);
    t.deepEqual(
      acknowledged.filter((name) => !stored.includes(name)),
      [],
      `all ${acknowledged.length} acknowledged writes are there`,
    );
  },
);
