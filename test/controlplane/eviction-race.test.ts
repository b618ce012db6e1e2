/**
 * Evictions racing for one disruption budget, driven on the registry directly (HTTP timing would
 * hide the race): every eviction reads the budget before any of them writes, as on a busy server.
 * The budget allows two; exactly two pods go, the others get 429, and the budget ends at zero.
 */
import test from 'ava';
import { PodEviction } from '../../controlplane/api/eviction.ts';
import { Registry } from '../../controlplane/api/registry.ts';
import { findResource } from '../../controlplane/api/resources.ts';
import { SqliteStorage } from '../../controlplane/storage/sqlite.ts';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

const pods = findResource('', 'v1', 'pods')!;
const budgets = findResource('policy', 'v1', 'poddisruptionbudgets')!;
const names = ['a', 'b', 'c', 'd', 'e'];

/** The registry, except that lists of budgets wait until `readers` of them have asked. */
function barrierOnBudgetLists(registry: Registry, readers: number): Registry {
  let waiting = 0;
  let release!: () => void;
  const everyoneRead = new Promise<void>((resolve) => (release = resolve));
  return new Proxy(registry, {
    get(target, property, receiver) {
      if (property !== 'list') {
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<Registry['list']>) => {
        const result = await target.list(...args);
        if (args[0] !== budgets) return result;
        if (++waiting >= readers) release();
        await everyoneRead;
        return result;
      };
    },
  });
}

test('concurrent evictions spend each allowance once', async (t) => {
  const storage = new SqliteStorage(':memory:');
  const registry = new Registry(storage, async () => undefined);
  t.teardown(() => registry.close());
  for (const name of names) {
    await registry.create(pods, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await registry.guaranteedUpdate(pods, 'default', name, 'status', (pod) => ({
      ...pod,
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    }));
  }
  const budget: KubeObject = await registry.create(budgets, 'default', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: 'default' },
    spec: { minAvailable: 3, selector: { matchLabels: { app: 'web' } } },
  });
  await registry.guaranteedUpdate(budgets, 'default', 'web', 'status', (current) => ({
    ...current,
    status: {
      observedGeneration: budget.metadata.generation ?? 1,
      disruptionsAllowed: 2,
      currentHealthy: 5,
      desiredHealthy: 3,
      expectedPods: 5,
    },
  }));

  const eviction = new PodEviction(barrierOnBudgetLists(registry, names.length));
  const outcomes = await Promise.allSettled(names.map((name) => eviction.evict(pods, 'default', name, {})));
  const evicted = outcomes.filter((o) => o.status === 'fulfilled').length;
  const refused = outcomes.filter(
    (o) => o.status === 'rejected' && o.reason instanceof ApiError && o.reason.code === 429,
  ).length;
  t.is(evicted, 2);
  t.is(refused, 3);
  const left = (await registry.list(pods, 'default')).items;
  t.is(left.length, 3);
  const after = (await registry.get(budgets, 'default', 'web')).status as Record<string, any>;
  t.is(after.disruptionsAllowed, 0);
  t.is(Object.keys(after.disruptedPods).length, 2);
});
