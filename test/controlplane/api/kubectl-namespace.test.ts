/**
 * Namespace termination with real kubectl against bosun server and its namespace controller:
 * Terminating with the `kubernetes` finalizer, upstream's conditions while content remains, no
 * new content, then gone; the cluster's own namespaces cannot be deleted.
 */
import test, { type ExecutionContext } from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { waitFor } from '../../helpers/wait.ts';
import { useKubectlBed } from '../kubectl-bed.ts';

const bed = useKubectlBed();

const ok = (t: ExecutionContext, ...args: string[]) => bed.ok(t, ...args);

type Condition = { type: string; status: string; reason: string; message: string };
const conditionsOf = (ns: KubeObject) => (ns.status as { conditions?: Condition[] }).conditions ?? [];

test.serial('a deleted namespace terminates: no new content, conditions say what remains, then it goes', async (t) => {
  await ok(t, 'create', 'namespace', 'team');
  const fresh = JSON.parse(await ok(t, 'get', 'ns', 'team', '-o', 'json')) as KubeObject;
  t.deepEqual(fresh.spec, { finalizers: ['kubernetes'] });
  t.is((fresh.status as { phase: string }).phase, 'Active');
  await ok(t, 'create', 'deployment', 'web', '-n', 'team', '--image=busybox:1.36', '--replicas=2');
  await ok(t, 'create', 'configmap', 'held', '-n', 'team', '--from-literal=a=b');
  await ok(
    t,
    'patch',
    'configmap',
    'held',
    '-n',
    'team',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":["example.com/hold"]}}',
  );
  await waitFor(async () => (await ok(t, 'get', 'pods', '-n', 'team', '-o', 'name')).trim().split('\n').length === 2, {
    what: 'two pods in team',
    timeoutMs: 30_000,
  });

  await ok(t, 'delete', 'namespace', 'team', '--wait=false');
  t.regex(await ok(t, 'get', 'ns', 'team'), /team\s+Terminating/);
  const refused = await bed.kubectl(['create', 'configmap', 'late', '-n', 'team']);
  t.not(refused.code, 0);
  t.regex(
    refused.stderr,
    /configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated/,
  );

  const stuck = await waitFor(
    async () => {
      const ns = JSON.parse(await ok(t, 'get', 'ns', 'team', '-o', 'json')) as KubeObject;
      const remaining = conditionsOf(ns).find((c) => c.type === 'NamespaceContentRemaining');
      return (
        remaining?.status === 'True' &&
        remaining.message === 'Some resources are remaining: configmaps. has 1 resource instances' &&
        ns
      );
    },
    { what: 'NamespaceContentRemaining naming the held ConfigMap only', timeoutMs: 30_000 },
  );
  t.deepEqual(
    conditionsOf(stuck).map((c) => `${c.type}=${c.status} ${c.reason}`),
    [
      'NamespaceDeletionDiscoveryFailure=False ResourcesDiscovered',
      'NamespaceDeletionGroupVersionParsingFailure=False ParsedGroupVersions',
      'NamespaceDeletionContentFailure=False ContentDeleted',
      'NamespaceContentRemaining=True SomeResourcesRemain',
      'NamespaceFinalizersRemaining=True SomeFinalizersRemain',
    ],
  );
  t.is(
    conditionsOf(stuck).find((c) => c.type === 'NamespaceFinalizersRemaining')?.message,
    'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
  );
  t.deepEqual(stuck.spec, { finalizers: ['kubernetes'] }, 'the namespace waits for its content');
  const again = await bed.kubectl(['delete', 'namespace', 'team', '--wait=false']);
  t.regex(again.stderr, /Conflict.*The system is ensuring all content is removed from this namespace/);

  await ok(
    t,
    'patch',
    'configmap',
    'held',
    '-n',
    'team',
    '--type=json',
    '-p',
    '[{"op":"remove","path":"/metadata/finalizers"}]',
  );
  await waitFor(async () => (await bed.kubectl(['get', 'ns', 'team'])).code === 1, {
    what: 'namespace team gone once its last object went',
    timeoutMs: 30_000,
  });
  t.pass();
});

test.serial('default, kube-system and kube-public may not be deleted', async (t) => {
  for (const name of ['default', 'kube-system', 'kube-public']) {
    const result = await bed.kubectl(['delete', 'namespace', name, '--wait=false']);
    t.not(result.code, 0);
    t.regex(
      result.stderr,
      new RegExp(`Forbidden.*namespaces "${name}" is forbidden: this namespace may not be deleted`),
    );
    t.regex(await ok(t, 'get', 'ns', name), /Active/);
  }
});
