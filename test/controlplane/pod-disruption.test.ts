/**
 * PodDisruptionBudgets and the eviction subresource against a server with its controllers: the
 * disruption controller fills the budget's status, an eviction spends it (and is 429 in upstream's
 * words when nothing is left, deleting nothing), unready pods follow unhealthyPodEvictionPolicy,
 * pods not running yet go without asking, and a pod under two budgets is not evicted (500).
 * No node runs the pods: the test writes their status as a kubelet would.
 */
import test from 'ava';
import { adminCall, sharedInProcess } from './in-process.ts';
import { waitFor } from './ports.ts';

const shared = sharedInProcess(test, { controlLoops: { withoutScheduler: true } });
const send = (method: string, path: string, body?: unknown) => adminCall(shared.server(), method, path, body);

let namespaces = 0;
/** A fresh namespace per test, so budgets of one test never cover pods of another. */
async function namespace(): Promise<string> {
  const name = `pdb-${++namespaces}`;
  expectStatus(
    await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    201,
  );
  return name;
}

function expectStatus(reply: { status: number; body: unknown }, status: number): void {
  if (reply.status !== status)
    throw new Error(`expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
}

const podsOf = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
const budgetsOf = (ns: string) => `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`;

/** A pod as its node would report it: Running and ready (or not), or still Pending. */
async function runPod(ns: string, name: string, state: { ready?: boolean; phase?: string } = {}): Promise<void> {
  const created = await send('POST', podsOf(ns), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  expectStatus(created, 201);
  const ready = state.ready ?? true;
  const status = {
    phase: state.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  };
  expectStatus(await send('PUT', `${podsOf(ns)}/${name}/status`, { ...created.body, status }), 200);
}

async function createBudget(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  expectStatus(
    await send('POST', budgetsOf(ns), {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name },
      spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    }),
    201,
  );
}

async function budgetStatus(ns: string, name: string): Promise<Record<string, any>> {
  const reply = await send('GET', `${budgetsOf(ns)}/${name}`);
  return { generation: reply.body.metadata.generation, ...reply.body.status };
}

/** Waits until the controller has judged the budget's current spec and allows `allowed`. */
async function settled(ns: string, name: string, allowed: number): Promise<Record<string, any>> {
  let last: Record<string, any> = {};
  await waitFor(`budget ${name} allowing ${allowed}`, async () => {
    last = await budgetStatus(ns, name);
    return last.observedGeneration === last.generation && last.disruptionsAllowed === allowed;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)}`);
  });
  return last;
}

const evict = (ns: string, name: string, deleteOptions?: unknown) =>
  send('POST', `${podsOf(ns)}/${name}/eviction`, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name, namespace: ns },
    ...(deleteOptions ? { deleteOptions } : {}),
  });

async function present(ns: string, name: string): Promise<boolean> {
  const reply = await send('GET', `${podsOf(ns)}/${name}`);
  return reply.status === 200 && reply.body.metadata.deletionTimestamp === undefined;
}

test('the controller fills the status; an eviction spends it, then 429 deletes nothing', async (t) => {
  const ns = await namespace();
  for (const name of ['a', 'b', 'c']) await runPod(ns, name);
  await createBudget(ns, 'web', { minAvailable: 2 });
  const status = await settled(ns, 'web', 1);
  t.like(status, { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 });
  t.like(status.conditions[0], { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' });

  // a dry run spends nothing and deletes nothing
  t.is((await evict(ns, 'a', { dryRun: ['All'] })).status, 201);
  t.true(await present(ns, 'a'));
  t.is((await budgetStatus(ns, 'web')).disruptionsAllowed, 1);

  const first = await evict(ns, 'a');
  t.is(first.status, 201, JSON.stringify(first.body));
  t.false(await present(ns, 'a'));
  // the refusal names the healthy count the controller last wrote: let it count the evicted pod
  // out first (the eviction itself spends disruptionsAllowed but leaves the count to it)
  await waitFor('the controller to count the evicted pod out', async () => {
    return (await budgetStatus(ns, 'web')).currentHealthy === 2;
  });
  const refused = await evict(ns, 'b');
  t.is(refused.status, 429);
  t.like(refused.body, {
    kind: 'Status',
    status: 'Failure',
    reason: 'TooManyRequests',
    code: 429,
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
  });
  t.deepEqual(refused.body.details.causes, [
    {
      reason: 'DisruptionBudget',
      message: 'The disruption budget web needs 2 healthy pods and has 2 currently',
    },
  ]);
  t.true(await present(ns, 'b'), 'a refused eviction leaves the pod alone');
  t.true(await present(ns, 'c'));
  const after = await settled(ns, 'web', 0);
  t.like(after, { currentHealthy: 2, desiredHealthy: 2 });
  t.like(after.conditions[0], { status: 'False', reason: 'InsufficientPods' });

  // room again: one more healthy pod
  await runPod(ns, 'd');
  await settled(ns, 'web', 1);
  t.is((await evict(ns, 'b')).status, 201);
  t.is((await send('GET', '/readyz')).status, 200);
});

test('an evicted pod that has to wait for its node carries DisruptionTarget and is noted by the budget', async (t) => {
  const ns = await namespace();
  await runPod(ns, 'a');
  await runPod(ns, 'b');
  // a pod on a node terminates gracefully: it stays, marked, until its node confirms
  const pod = await send('GET', `${podsOf(ns)}/a`);
  expectStatus(
    await send('POST', `${podsOf(ns)}/a/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'a' },
      target: { kind: 'Node', name: 'somewhere' },
    }),
    201,
  );
  t.truthy(pod.body.metadata.uid);
  await createBudget(ns, 'web', { maxUnavailable: 1 });
  // no controller owns these pods: maxUnavailable counts against no scale at all
  const unmanaged = await settled(ns, 'web', 0);
  t.like(unmanaged, { expectedPods: 0 });
  t.is((await evict(ns, 'a')).status, 429);

  expectStatus(
    await send('PUT', `${budgetsOf(ns)}/web`, {
      ...(await send('GET', `${budgetsOf(ns)}/web`)).body,
      spec: { selector: { matchLabels: { app: 'web' } }, minAvailable: 1 },
    }),
    200,
  );
  await settled(ns, 'web', 1);
  t.is((await evict(ns, 'a')).status, 201);
  const marked = await send('GET', `${podsOf(ns)}/a`);
  t.truthy(marked.body.metadata.deletionTimestamp);
  t.like(
    marked.body.status.conditions.find((c: { type: string }) => c.type === 'DisruptionTarget'),
    { status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' },
  );
  const noted = await budgetStatus(ns, 'web');
  t.is(noted.disruptionsAllowed, 0);
  t.is((await evict(ns, 'b')).status, 429);
  t.true(await present(ns, 'b'));
});

test('unready pods: IfHealthyBudget takes them only while the rest is healthy enough; AlwaysAllow always', async (t) => {
  const ns = await namespace();
  await runPod(ns, 'ready');
  await runPod(ns, 'sick', { ready: false });
  await createBudget(ns, 'web', { minAvailable: 1 });
  await settled(ns, 'web', 0);
  // 1 healthy of 1 needed: the sick pod may go without spending anything
  t.is((await evict(ns, 'sick')).status, 201);
  t.false(await present(ns, 'sick'));
  t.is((await evict(ns, 'ready')).status, 429);

  const strict = await namespace();
  await runPod(strict, 'sick', { ready: false });
  await createBudget(strict, 'web', { minAvailable: 1 });
  await settled(strict, 'web', 0);
  t.is((await evict(strict, 'sick')).status, 429, 'nothing healthy: the unready pod is guarded too');
  t.true(await present(strict, 'sick'));
  const budget = (await send('GET', `${budgetsOf(strict)}/web`)).body;
  expectStatus(
    await send('PUT', `${budgetsOf(strict)}/web`, {
      ...budget,
      spec: { ...budget.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    }),
    200,
  );
  await waitFor('the new generation judged', async () => {
    const s = await budgetStatus(strict, 'web');
    return s.observedGeneration === s.generation;
  });
  t.is((await evict(strict, 'sick')).status, 201);
  t.false(await present(strict, 'sick'));
});

test('a pod not running yet goes without asking; a pod under two budgets is 500', async (t) => {
  const ns = await namespace();
  await runPod(ns, 'waiting', { phase: 'Pending', ready: false });
  await runPod(ns, 'running');
  await createBudget(ns, 'one', { minAvailable: 5 });
  await createBudget(ns, 'two', { minAvailable: 5 });
  await settled(ns, 'one', 0);
  t.is((await evict(ns, 'waiting')).status, 201);
  t.false(await present(ns, 'waiting'));
  const several = await evict(ns, 'running');
  t.is(several.status, 500);
  t.is(
    several.body.message,
    'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
  );
  t.true(await present(ns, 'running'));
});

test('budgets are validated as upstream and print upstream columns', async (t) => {
  const ns = await namespace();
  const both = await send('POST', budgetsOf(ns), {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'both' },
    spec: { minAvailable: 1, maxUnavailable: '150%', unhealthyPodEvictionPolicy: 'Sometimes' },
  });
  t.is(both.status, 422);
  t.deepEqual(
    both.body.details.causes.map((c: { field: string }) => c.field),
    ['spec', 'spec.maxUnavailable', 'spec.unhealthyPodEvictionPolicy'],
  );
  t.regex(both.body.message, /spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%/);
  t.is((await send('GET', `${budgetsOf(ns)}/both`)).status, 404);

  await createBudget(ns, 'web', { maxUnavailable: '25%' });
  const table = await adminCall(shared.server(), 'GET', budgetsOf(ns), undefined, undefined, {
    Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  });
  t.deepEqual(
    table.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age'],
  );
  t.deepEqual(table.body.rows[0].cells.slice(0, 4), ['web', 'N/A', '25%', 0]);
});
