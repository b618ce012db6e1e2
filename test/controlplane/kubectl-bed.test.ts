/**
 * The kubectl bed's nodes behave as live nodes for as long as a test runs: their agents' Lease
 * renewals keep the node lifecycle controller from declaring them dead, so pods stay Ready and a
 * disruption budget that allows keeps allowing. Timings are shortened (a 2 s grace instead of 50 s)
 * so that a bed whose nodes go silent fails here in seconds instead of in a long test's last minute.
 */
import test from 'ava';
import type { Lease, Node, Pod } from '../../kube/corev1.ts';
import { refs } from '../../kube/resource-ref.ts';
import { useKubectlBed } from './kubectl-bed.ts';
import { waitFor } from './ports.ts';

const graceMs = 2_000;
const bed = useKubectlBed({
  nodeLifecycle: { graceMs, monitorPeriodMs: 100 },
  leaseRenewIntervalMs: 250,
});

const manifest = `apiVersion: v1
kind: Namespace
metadata: {name: alive}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: alive}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: busybox}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: alive}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`;

const isReady = (conditions: readonly { type: string; status: string }[] | undefined) =>
  conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const podsOfTheApp = async () => (await bed.client.list<Pod>(refs.pods, { namespace: 'alive' })).items;

/** What is not alive right now: nodes and pods that are not Ready; empty when all are. */
async function notReady(): Promise<string[]> {
  const nodes = await bed.client.list<Node>(refs.nodes);
  return [
    ...nodes.items.filter((n) => !isReady(n.status?.conditions)).map((n) => `node ${n.metadata.name}`),
    ...(await podsOfTheApp()).filter((p) => !isReady(p.status?.conditions)).map((p) => `pod ${p.metadata.name}`),
  ];
}

async function disruptionsAllowed(): Promise<string> {
  return (await bed.kubectl(['get', 'pdb', 'web', '-n', 'alive', '-o', 'jsonpath={.status.disruptionsAllowed}']))
    .stdout;
}

test.serial('the nodes renew their leases: nodes and pods stay ready past the grace period', async (t) => {
  await bed.ok(t, 'apply', '-f', bed.file('alive.yaml', manifest));
  await waitFor(
    'two ready pods and a budget that allows one disruption',
    async () =>
      (await podsOfTheApp()).length === 2 && (await notReady()).length === 0 && (await disruptionsAllowed()) === '1',
  );

  // Three grace periods: a node whose lease nobody renews is Unknown, its pods not ready, after one.
  const until = Date.now() + 3 * graceMs;
  while (Date.now() < until) {
    const dead = await notReady();
    if (dead.length > 0) return t.fail(`not ready ${Date.now() - until + 3 * graceMs} ms in: ${dead.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(await disruptionsAllowed(), '1', 'the budget still allows one disruption');

  const leases = await bed.client.list<Lease>(refs.leases, { namespace: 'kube-node-lease' });
  t.deepEqual(leases.items.map((l) => [l.metadata.name, l.spec?.holderIdentity]).sort(), [
    ['node-a', 'node-a'],
    ['node-b', 'node-b'],
  ]);
});
