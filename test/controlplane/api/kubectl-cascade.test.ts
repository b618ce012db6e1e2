/**
 * `kubectl delete --cascade=orphan|background|foreground` against bosun server with its garbage
 * collector: what remains after each, as upstream leaves it.
 */
import test, { type ExecutionContext } from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { waitFor } from '../../helpers/wait.ts';
import { useKubectlBed } from '../kubectl-bed.ts';

const bed = useKubectlBed();

const ok = (t: ExecutionContext, ...args: string[]) => bed.ok(t, ...args);

async function list(t: ExecutionContext, kind: string, selector: string): Promise<KubeObject[]> {
  return (JSON.parse(await ok(t, 'get', kind, '-l', selector, '-o', 'json')) as { items: KubeObject[] }).items;
}

function deployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
`;
}

/** Applies a Deployment and waits for its ReplicaSet and two running pods. */
async function rolledOut(t: ExecutionContext, name: string): Promise<void> {
  await ok(t, 'apply', '-f', bed.file(`${name}.yaml`, deployment(name)));
  await waitFor(
    async () =>
      (await list(t, 'pods', `app=${name}`)).filter((p) => (p.status as { phase?: string }).phase === 'Running')
        .length === 2,
    {
      what: `two running pods of Deployment ${name}`,
      timeoutMs: 60_000,
    },
  );
}

test.serial(
  '--cascade=orphan leaves the ReplicaSet, then the pods, with no ownerReferences to what went',
  async (t) => {
    await rolledOut(t, 'keep');
    await ok(t, 'delete', 'deployment', 'keep', '--cascade=orphan');
    t.is((await bed.kubectl(['get', 'deployment', 'keep'])).code, 1, 'the Deployment itself is gone');
    const [rs] = await waitFor(
      async () => {
        const sets = await list(t, 'replicasets', 'app=keep');
        return sets.length === 1 && (sets[0]!.metadata.ownerReferences ?? []).length === 0 && sets;
      },
      { what: 'the ReplicaSet of keep left without ownerReferences', timeoutMs: 30_000 },
    );
    await ok(t, 'delete', 'replicaset', rs!.metadata.name!, '--cascade=orphan');
    const pods = await waitFor(
      async () => {
        const found = await list(t, 'pods', 'app=keep');
        return found.length === 2 && found.every((p) => (p.metadata.ownerReferences ?? []).length === 0) && found;
      },
      { what: 'both pods of keep orphaned (no ownerReferences)', timeoutMs: 30_000 },
    );
    t.true(
      pods.every((p) => !p.metadata.deletionTimestamp),
      'orphaned pods are not being deleted',
    );
    t.deepEqual(await list(t, 'replicasets', 'app=keep'), []);
  },
);

test.serial(
  '--cascade=background removes the Deployment at once; the collector takes its ReplicaSet and pods',
  async (t) => {
    await rolledOut(t, 'bg');
    await ok(t, 'delete', 'deployment', 'bg', '--cascade=background', '--wait=false');
    t.is((await bed.kubectl(['get', 'deployment', 'bg'])).code, 1, 'the Deployment is gone right away');
    await waitFor(
      async () =>
        (await list(t, 'replicasets', 'app=bg')).length === 0 && (await list(t, 'pods', 'app=bg')).length === 0,
      {
        what: 'ReplicaSet and pods of bg collected',
        timeoutMs: 30_000,
      },
    );
    t.pass();
  },
);

test.serial('--cascade=foreground keeps the Deployment, marked, until its dependents are gone', async (t) => {
  await rolledOut(t, 'fg');
  const [held] = await list(t, 'pods', 'app=fg');
  // A finalizer of our own holds one pod, so the chain above it must wait for it.
  await ok(
    t,
    'patch',
    'pod',
    held!.metadata.name!,
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":["example.com/hold"]}}',
  );
  await ok(t, 'delete', 'deployment', 'fg', '--cascade=foreground', '--wait=false');
  const marked = await waitFor(
    async () => {
      const d = JSON.parse(await ok(t, 'get', 'deployment', 'fg', '-o', 'json')) as KubeObject;
      return d.metadata.deletionTimestamp !== undefined && d;
    },
    { what: 'Deployment fg visible with a deletionTimestamp', timeoutMs: 30_000 },
  );
  t.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
  await waitFor(
    async () => (await list(t, 'pods', 'app=fg')).map((p) => p.metadata.name).join() === held!.metadata.name,
    {
      what: 'only the held pod of fg left',
      timeoutMs: 30_000,
    },
  );
  const [rs] = await list(t, 'replicasets', 'app=fg');
  t.truthy(rs?.metadata.deletionTimestamp, 'the ReplicaSet waits too, in the foreground');
  t.is(
    (await bed.kubectl(['get', 'deployment', 'fg'])).code,
    0,
    'the Deployment is still there while a dependent remains',
  );
  await ok(
    t,
    'patch',
    'pod',
    held!.metadata.name!,
    '--type=json',
    '-p',
    '[{"op":"remove","path":"/metadata/finalizers"}]',
  );
  await waitFor(
    async () =>
      (await bed.kubectl(['get', 'deployment', 'fg'])).code === 1 &&
      (await list(t, 'replicasets', 'app=fg')).length === 0,
    {
      what: 'Deployment fg and its ReplicaSet gone once the held pod went',
      timeoutMs: 30_000,
    },
  );
  t.deepEqual(await list(t, 'pods', 'app=fg'), []);
});

test.serial('a Job deleted through the API without a policy orphans its pods, with kubectl it does not', async (t) => {
  await ok(t, 'create', 'job', 'once', '--image=busybox:1.36', '--', 'sleep', '3600');
  await waitFor(async () => (await list(t, 'pods', 'job-name=once')).length === 1, {
    what: 'the pod of Job once',
    timeoutMs: 30_000,
  });
  const { client } = bed;
  await client.delete({ group: 'batch', version: 'v1', resource: 'jobs', namespaced: true }, 'once', {
    namespace: 'default',
  });
  await waitFor(
    async () => {
      const pods = await list(t, 'pods', 'job-name=once');
      return (
        (await bed.kubectl(['get', 'job', 'once'])).code === 1 &&
        pods.length === 1 &&
        (pods[0]!.metadata.ownerReferences ?? []).length === 0
      );
    },
    { what: 'Job once gone and its pod orphaned', timeoutMs: 30_000 },
  );
  await ok(t, 'create', 'job', 'twice', '--image=busybox:1.36', '--', 'sleep', '3600');
  await waitFor(async () => (await list(t, 'pods', 'job-name=twice')).length === 1, {
    what: 'the pod of Job twice',
    timeoutMs: 30_000,
  });
  await ok(t, 'delete', 'job', 'twice');
  await waitFor(async () => (await list(t, 'pods', 'job-name=twice')).length === 0, {
    what: 'the pod of Job twice collected',
    timeoutMs: 30_000,
  });
  t.pass();
});
