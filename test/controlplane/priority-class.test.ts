/**
 * scheduling.k8s.io/v1 PriorityClass as upstream serves it: the two built-in classes exist from the
 * start, `system-` names and values above one billion are reserved, a class's value never changes,
 * one class at most is the global default, and the Priority admission resolves a pod's class
 * (or the default) to `spec.priority` and `spec.preemptionPolicy`.
 */
import test from 'ava';
import { adminCall, sharedInProcess } from './in-process.ts';

const shared = sharedInProcess(test);
const classes = '/apis/scheduling.k8s.io/v1/priorityclasses';
const pods = '/api/v1/namespaces/default/pods';
const send = (method: string, path: string, body?: unknown) => adminCall(shared.server(), method, path, body);

const priorityClass = (name: string, fields: Record<string, unknown>) => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  ...fields,
});
const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

test.serial('the server creates the built-in classes; system- names and values above 1e9 are refused', async (t) => {
  const critical = await send('GET', `${classes}/system-node-critical`);
  t.is(critical.status, 200);
  t.like(critical.body, { value: 2000001000, preemptionPolicy: 'PreemptLowerPriority' });
  t.is((await send('GET', `${classes}/system-cluster-critical`)).body.value, 2000000000);

  const reserved = await send('POST', classes, priorityClass('system-mine', { value: 10 }));
  t.is(reserved.status, 422);
  t.is(
    reserved.body.message,
    `PriorityClass.scheduling.k8s.io "system-mine" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class`,
  );
  const tooHigh = await send('POST', classes, priorityClass('vip', { value: 1000000001 }));
  t.is(tooHigh.status, 422);
  t.is(
    tooHigh.body.message,
    'PriorityClass.scheduling.k8s.io "vip" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000',
  );
  for (const name of ['system-mine', 'vip']) t.is((await send('GET', `${classes}/${name}`)).status, 404);

  const table = await adminCall(shared.server(), 'GET', `${classes}/system-node-critical`, undefined, undefined, {
    Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  });
  t.deepEqual(
    table.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy'],
  );
  const cells = table.body.rows[0].cells;
  t.deepEqual(
    [cells[0], cells[1], cells[2], cells[4]],
    ['system-node-critical', 2000001000, false, 'PreemptLowerPriority'],
  );
});

test.serial('a class keeps its value; a pod gets its class value and preemption policy', async (t) => {
  const created = await send('POST', classes, priorityClass('batch-high', { value: 1000, preemptionPolicy: 'Never' }));
  t.is(created.status, 201, JSON.stringify(created.body));
  const changed = await send('PUT', `${classes}/batch-high`, { ...created.body, value: 2000 });
  t.is(changed.status, 422);
  t.is(
    changed.body.message,
    'PriorityClass.scheduling.k8s.io "batch-high" is invalid: value: Forbidden: may not be changed in an update.',
  );
  t.is((await send('GET', `${classes}/batch-high`)).body.value, 1000);

  const admitted = await send('POST', pods, pod('batch', { priorityClassName: 'batch-high' }));
  t.is(admitted.status, 201, JSON.stringify(admitted.body));
  t.like(admitted.body.spec, { priority: 1000, preemptionPolicy: 'Never' });

  const contrary = await send(
    'POST',
    pods,
    pod('contrary', { priorityClassName: 'batch-high', preemptionPolicy: 'PreemptLowerPriority' }),
  );
  t.is(contrary.status, 403);
  t.is(
    contrary.body.message,
    'pods "contrary" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name',
  );
  t.is((await send('GET', `${pods}/contrary`)).status, 404);
});

test.serial('one global default: pods without a class get it, a second default is 403', async (t) => {
  t.is((await send('POST', classes, priorityClass('everyday', { value: 7, globalDefault: true }))).status, 201);
  const second = await send('POST', classes, priorityClass('another', { value: 8, globalDefault: true }));
  t.is(second.status, 403);
  t.is(
    second.body.message,
    'priorityclasses.scheduling.k8s.io "another" is forbidden: PriorityClass everyday is already marked as default. Only one default can exist',
  );
  t.is((await send('GET', `${classes}/another`)).status, 404);

  const plain = await send('POST', pods, pod('plain'));
  t.is(plain.status, 201);
  t.like(plain.body.spec, { priorityClassName: 'everyday', priority: 7, preemptionPolicy: 'PreemptLowerPriority' });

  t.is((await send('DELETE', `${classes}/everyday`)).status, 200);
  const after = await send('POST', pods, pod('after'));
  t.like(after.body.spec, { priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
  t.is(after.body.spec.priorityClassName, undefined);
});
