/**
 * Persistent storage on real nodes (one sandbox of two nodes for the file): the default local-path
 * class, a StatefulSet of 2 replicas whose claim template gives each pod its own folder on its node;
 * the pods come back on the same nodes with the same data, scaling down keeps a claim and scaling up
 * mounts it again, deleting a claim removes its folder (Delete) or keeps it (Retain); a
 * WaitForFirstConsumer volume is pinned to its pod's node; a pod whose claim lives on one node never
 * lands on the other, even when its node is full. Then the StatefulSet's apply / get / scale with
 * every kubectl release (1.27 ... 1.35) against the same cluster; a release that is not installed
 * is a visible skip line.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../host/process/run.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { createTestSandbox } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';

const releases = installedKubectlReleases();

let sandbox: Sandbox | undefined;
let kubeconfig = '';

type Any = Record<string, any>;

const kubectlWith = (binary: string, args: string[]) =>
  run([binary, '--kubeconfig', kubeconfig, ...args], { timeoutMs: 90_000 });

async function kubectl(...args: string[]): Promise<string> {
  const r = await kubectlWith('kubectl', args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function apply(yaml: string, binary = 'kubectl'): Promise<void> {
  const file = join(sandbox!.stateDir, `apply-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(file, yaml);
  const r = await kubectlWith(binary, ['apply', '-f', file]);
  if (r.code !== 0) throw new Error(`${binary} apply: ${r.stderr.trim()}`);
}

const getJson = async (...args: string[]): Promise<Any> => JSON.parse(await kubectl('get', ...args, '-o', 'json'));

/** The local-path root of a sandbox node (its agent's --root-dir is <node state>/agent). */
const storageRoot = (node: string) => join(sandbox!.node(node).stateDir, 'agent', 'storage');

const localPathClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: bosun.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: bosun.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
`;

/** A StatefulSet whose pods each write their name into their volume once, then sleep. */
const statefulSet = (name: string, replicas: number, extra = '') => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {clusterIP: None, selector: {app: ${name}}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}}
spec:
  serviceName: ${name}
  replicas: ${replicas}
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: ${name}}}}
      containers:
      - name: main
        image: ${sandboxImages.busybox}
        command: ["sh", "-c", "[ -f /data/first ] || hostname > /data/first; exec sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}${extra}
`;

interface PodView {
  node: string;
  phase: string;
  deleting: boolean;
  uid: string;
}

async function pod(name: string): Promise<PodView | undefined> {
  const r = await kubectlWith('kubectl', ['get', 'pod', name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const p = JSON.parse(r.stdout) as Any;
  return {
    node: p.spec.nodeName ?? '',
    phase: p.status?.phase ?? '',
    deleting: p.metadata.deletionTimestamp !== undefined,
    uid: p.metadata.uid,
  };
}

const running = async (name: string, notUid?: string) => {
  const p = await pod(name);
  return p !== undefined && p.phase === 'Running' && !p.deleting && p.uid !== notUid ? p : undefined;
};

/** The folder of a claim on its node, read from the node's disk. */
async function claimFolder(claim: string): Promise<{ node: string; folder: string; pv: Any }> {
  const pvc = await getJson('pvc', claim);
  const pv = await getJson('pv', pvc.spec.volumeName);
  const node = pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0];
  return { node, folder: join(storageRoot(node), pv.metadata.name), pv };
}

test.before(async () => {
  sandbox = await createTestSandbox('bst', 2);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  await sandbox.joinAgents();
  await waitFor(
    async () =>
      ((await kubectlWith('kubectl', ['get', 'nodes', '--no-headers'])).stdout.match(/ Ready /g) ?? []).length === 2,
    { what: 'two nodes Ready', timeoutMs: 120_000, intervalMs: 500 },
  );
  await apply(localPathClass);
});

test.after.always(async () => {
  await sandbox?.destroy();
});

test.serial(
  'a StatefulSet keeps each replica data on its node across pod deletion and scaling; Delete removes the folder',
  async (t) => {
    await apply(statefulSet('db', 2));
    const first = {
      0: await waitFor(() => running('db-0'), { what: 'db-0 Running', timeoutMs: 120_000, intervalMs: 500 }),
      1: await waitFor(() => running('db-1'), { what: 'db-1 Running', timeoutMs: 120_000, intervalMs: 500 }),
    };
    t.not(first[0].node, first[1].node, 'one replica per node');
    const folders: Record<0 | 1, string> = { 0: '', 1: '' };
    for (const ordinal of [0, 1] as const) {
      const { node, folder, pv } = await claimFolder(`data-db-${ordinal}`);
      folders[ordinal] = folder;
      t.is(node, first[ordinal].node, `the volume of db-${ordinal} is pinned to its node`);
      t.is(pv.metadata.annotations['pv.kubernetes.io/provisioned-by'], 'bosun.io/local-path');
      t.is(pv.spec.claimRef.name, `data-db-${ordinal}`);
      await waitFor(() => existsSync(join(folder, 'first')), {
        what: `db-${ordinal} wrote its file`,
        timeoutMs: 30_000,
      });
      t.is(readFileSync(join(folder, 'first'), 'utf8').trim(), `db-${ordinal}`);
    }

    // the pods go; they come back on the same nodes and find their data
    await kubectl('delete', 'pod', 'db-0', 'db-1', '--wait=false');
    for (const ordinal of [0, 1] as const) {
      const back = await waitFor(() => running(`db-${ordinal}`, first[ordinal].uid), {
        what: `db-${ordinal} back`,
        timeoutMs: 120_000,
        intervalMs: 500,
      });
      t.is(back.node, first[ordinal].node, `db-${ordinal} came back on its node`);
      let stderr = '';
      const seen = await waitFor(
        async () => {
          const r = await kubectlWith('kubectl', ['exec', `db-${ordinal}`, '--', 'cat', '/data/first']);
          stderr = r.stderr;
          return r.code === 0 ? r.stdout.trim() : undefined;
        },
        { what: `db-${ordinal} reads its volume`, timeoutMs: 90_000, intervalMs: 500 },
      );
      // on a mismatch, tell an exec that lost its output from a volume that lost its data
      const onHost = (() => {
        try {
          return JSON.stringify(readFileSync(join(folders[ordinal], 'first'), 'utf8'));
        } catch (err) {
          return (err as Error).message;
        }
      })();
      t.is(
        seen,
        `db-${ordinal}`,
        `the data written before the restart (on the node: ${onHost}; exec stderr: ${stderr})`,
      );
    }

    // scaling down keeps the claim; scaling up mounts it again
    const db1 = await claimFolder('data-db-1');
    await kubectl('scale', 'statefulset', 'db', '--replicas=1');
    await waitFor(async () => (await pod('db-1')) === undefined, {
      what: 'db-1 gone',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.is((await getJson('pvc', 'data-db-1')).status.phase, 'Bound');
    t.true(existsSync(join(db1.folder, 'first')));
    await kubectl('scale', 'statefulset', 'db', '--replicas=2');
    const again = await waitFor(() => running('db-1'), {
      what: 'db-1 scaled back',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    t.is(again.node, db1.node);
    t.is((await getJson('pvc', 'data-db-1')).spec.volumeName, db1.pv.metadata.name);

    // deleting the claim (reclaim policy Delete) removes the folder on its node, then the volume
    await kubectl('scale', 'statefulset', 'db', '--replicas=1');
    await waitFor(async () => (await pod('db-1')) === undefined, {
      what: 'db-1 gone again',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await kubectl('delete', 'pvc', 'data-db-1', '--wait=false');
    await waitFor(() => !existsSync(db1.folder), {
      what: 'the folder of data-db-1 removed',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await waitFor(async () => (await kubectlWith('kubectl', ['get', 'pv', db1.pv.metadata.name])).code !== 0, {
      what: 'its PV deleted',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.true(existsSync(storageRoot(db1.node)), 'the root stays');
  },
);

test.serial('Retain keeps the folder and the volume goes Released', async (t) => {
  await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kept}
spec: {storageClassName: keep, accessModes: [ReadWriteOnce], resources: {requests: {storage: 8Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ${sandboxImages.busybox}, command: ["sh", "-c", "echo kept > /data/note; exec sleep 3600"], volumeMounts: [{name: v, mountPath: /data}]}
  volumes: [{name: v, persistentVolumeClaim: {claimName: kept}}]
`);
  await waitFor(() => running('keeper'), { what: 'keeper Running', timeoutMs: 120_000, intervalMs: 500 });
  const kept = await claimFolder('kept');
  await waitFor(() => existsSync(join(kept.folder, 'note')), { what: 'the note written', timeoutMs: 30_000 });
  await kubectl('delete', 'pod', 'keeper', '--now');
  await kubectl('delete', 'pvc', 'kept');
  await waitFor(async () => (await getJson('pv', kept.pv.metadata.name)).status.phase === 'Released', {
    what: 'the volume Released',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  t.is(readFileSync(join(kept.folder, 'note'), 'utf8'), 'kept\n');
  t.deepEqual(readdirSync(kept.folder), ['note']);
});

test.serial('a pod using a claim on one node never lands on the other, even when that node is full', async (t) => {
  const db0 = await claimFolder('data-db-0');
  const allocatable = (await getJson('node', db0.node)).status.allocatable.cpu as string;
  const milli = allocatable.endsWith('m') ? Number(allocatable.slice(0, -1)) : Number(allocatable) * 1000;
  // the claim's node is filled up; the other node has room for the follower but not its data
  await apply(`apiVersion: v1
kind: Pod
metadata: {name: filler}
spec:
  terminationGracePeriodSeconds: 1
  nodeSelector: {kubernetes.io/hostname: ${db0.node}}
  containers:
  - {name: main, image: ${sandboxImages.busybox}, command: ["sleep", "3600"], resources: {requests: {cpu: "${milli - 100}m"}}}
---
apiVersion: v1
kind: Pod
metadata: {name: follower}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${sandboxImages.busybox}
    command: ["sleep", "3600"]
    resources: {requests: {cpu: 500m}}
    volumeMounts: [{name: v, mountPath: /data}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: data-db-0}}]
`);
  const condition = await waitFor(
    async () =>
      ((await getJson('pod', 'follower')).status?.conditions as Any[] | undefined)?.find(
        (c) => c.type === 'PodScheduled' && c.status === 'False',
      ),
    { what: 'follower unschedulable', timeoutMs: 60_000, intervalMs: 500 },
  );
  t.is(condition.message, '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had volume node affinity conflict.');
  t.is((await getJson('pod', 'follower')).spec.nodeName, undefined);
  await kubectl('delete', 'pod', 'follower', 'filler', '--now');
});

test.serial('StatefulSet claim templates with every kubectl release: apply, get, scale', async (t) => {
  for (const { release, binary } of releases) {
    const name = `sts-${release.replace('.', '-')}`;
    await apply(statefulSet(name, 0), binary);
    const got = await kubectlWith(binary, [
      'get',
      'statefulset',
      name,
      '-o',
      'jsonpath={.spec.volumeClaimTemplates[0].metadata.name}',
    ]);
    t.is(got.stdout, 'data', `${release} get`);
    const scaled = await kubectlWith(binary, ['scale', 'statefulset', name, '--replicas=1']);
    t.is(scaled.code, 0, `${release} scale: ${scaled.stderr}`);
    await waitFor(
      async () =>
        (await kubectlWith(binary, ['get', 'pvc', `data-${name}-0`, '-o', 'jsonpath={.status.phase}'])).stdout ===
        'Bound',
      { what: `data-${name}-0 Bound (${release})`, timeoutMs: 120_000, intervalMs: 500 },
    );
    const listed = await kubectlWith(binary, ['get', 'pvc', `data-${name}-0`]);
    t.regex(listed.stdout, /Bound\s+pvc-[0-9a-f-]+\s+16Mi\s+RWO\s+local-path/, `${release} get pvc: ${listed.stdout}`);
    await kubectlWith(binary, ['delete', 'statefulset', name, '--wait=false']);
  }
});
