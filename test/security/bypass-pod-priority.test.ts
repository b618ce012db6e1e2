/**
 * A pod's priority comes from its PriorityClass, never from the client (upstream's Priority
 * admission). A namespace admin wrote `spec.priority: 2000001000` and it was stored: its pods went to
 * the front of the scheduler's queue and to the back of every node's eviction order, like
 * node-critical system pods. Played against a real server process: refused with upstream's words
 * through create and server-side apply, nothing stored; the built-in classes give their numbers.
 */
import test from 'ava';
import { call } from '../controlplane/server-process.ts';
import { sharedTenantServer } from './tenant-server.ts';

const ns = 'team-priority';
const pods = `/api/v1/namespaces/${ns}/pods`;
const pod = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

const tenant = sharedTenantServer(test, ns);

const computedZero = (name: string) => ({
  status: 403,
  body: {
    reason: 'Forbidden',
    message: `pods "${name}" is forbidden: the integer value of priority (2000001000) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name`,
  },
});

test('a priority number written by the client is 403 on create and apply, and nothing is stored', async (t) => {
  const { server, admin, alice } = await tenant();
  t.like(await call(server, 'POST', pods, alice, pod('jumper', { priority: 2000001000 })), computedZero('jumper'));
  t.like(
    await call(
      server,
      'PATCH',
      `${pods}/applied?fieldManager=m`,
      alice,
      pod('applied', { priority: 2000001000 }),
      'application/apply-patch+yaml',
    ),
    computedZero('applied'),
  );
  for (const name of ['jumper', 'applied'])
    t.is((await call(server, 'GET', `${pods}/${name}`, admin)).status, 404, name);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('a class that does not exist is 403; the built-in classes give their numbers; no class gives 0', async (t) => {
  const { server, alice } = await tenant();
  t.like(await call(server, 'POST', pods, alice, pod('unknown', { priorityClassName: 'vip' })), {
    status: 403,
    body: { message: 'pods "unknown" is forbidden: no PriorityClass with name vip was found' },
  });
  const critical = await call(
    server,
    'POST',
    pods,
    alice,
    pod('critical', { priorityClassName: 'system-node-critical' }),
  );
  t.is(critical.status, 201);
  t.is(critical.body.spec.priority, 2000001000);
  const matching = await call(
    server,
    'POST',
    pods,
    alice,
    pod('matching', { priorityClassName: 'system-cluster-critical', priority: 2000000000 }),
  );
  t.is(matching.status, 201);
  const plain = await call(server, 'POST', pods, alice, pod('plain', { priority: 0 }));
  t.is(plain.body.spec.priority, 0);
});
