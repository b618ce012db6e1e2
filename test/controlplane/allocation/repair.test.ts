import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../kube/types.ts';
import { ClaimStore, type Claim } from '../../../controlplane/allocation/claims.ts';
import { droppedValues } from '../../../controlplane/allocation/held-values.ts';
import { planRepair } from '../../../controlplane/allocation/repair-plan.ts';
import { AllocationRepair } from '../../../controlplane/allocation/repair-loop.ts';
import { Registry } from '../../../controlplane/api/registry.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import { systemClock } from '../../../kube/clock.ts';

const cidr = '10.96.0.0/12';

function service(name: string, uid: string, clusterIP: string, nodePort?: number, created = '2026-12-07T10:00:00Z') {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid, creationTimestamp: created },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [{ port: 80, protocol: 'TCP', ...(nodePort ? { nodePort } : {}) }],
    },
  } as KubeObject;
}

const claimOf = (kind: Claim['kind'], value: string, uid: string, name = 'x'): Claim => ({
  kind,
  value,
  owner: { namespace: 'default', name, uid },
  modRevision: 1,
});

test('two Services holding one ClusterIP: the claim owner keeps it, the other is told to be recreated', (t) => {
  const older = service('a', 'u-a', '10.96.0.50', undefined, '2026-12-07T09:00:00Z');
  const newer = service('b', 'u-b', '10.96.0.50');
  const plan = planRepair([newer, older], [claimOf('ip', '10.96.0.50', 'u-b', 'b')], cidr, new Map());
  t.deepEqual(
    plan.events.map((e) => [e.service.metadata.name, e.reason, e.message]),
    [
      [
        'a',
        'ClusterIPAlreadyAllocated',
        'Cluster IP [IPv4]:10.96.0.50 was assigned to multiple services; please recreate service',
      ],
    ],
  );
  t.deepEqual(plan.claim, []);
  t.deepEqual(plan.free, []);
});

test('duplicate NodePorts without a claim: the oldest Service gets the claim, the others an event', (t) => {
  const plan = planRepair(
    [service('b', 'u-b', '10.96.0.2', 30080), service('a', 'u-a', '10.96.0.1', 30080, '2026-12-07T09:00:00Z')],
    [claimOf('ip', '10.96.0.1', 'u-a'), claimOf('ip', '10.96.0.2', 'u-b')],
    cidr,
    new Map(),
  );
  t.deepEqual(
    plan.claim.map((c) => [c.kind, c.value, c.owner.name, c.report]),
    [['nodePort', '30080', 'a', true]],
  );
  t.deepEqual(
    plan.events.map((e) => [e.service.metadata.name, e.reason, e.message]),
    [['b', 'PortAlreadyAllocated', 'Port 30080 was assigned to multiple services; please recreate service']],
  );
});

test('out-of-range values are reported; the first pass over a datastore without claims is a quiet migration', (t) => {
  const plan = planRepair(
    [service('a', 'u-a', '10.200.0.1'), service('b', 'u-b', '10.96.0.9', 40000)],
    [],
    cidr,
    new Map(),
  );
  t.deepEqual(
    plan.events.map((e) => [e.reason, e.message]),
    [
      [
        'ClusterIPOutOfRange',
        'Cluster IP [IPv4]:10.200.0.1 is not within the configured Service CIDR 10.96.0.0/12; please recreate service',
      ],
      ['PortOutOfRange', 'Port 40000 is not within the port range 30000-32767; please recreate service'],
    ],
  );
  t.deepEqual(
    plan.claim.map((c) => [c.value, c.report]),
    [['10.96.0.9', false]],
  );
});

test('a claim no Service holds is freed only on the third pass that sees it leaked', (t) => {
  const leaked = claimOf('nodePort', '31000', 'u-gone');
  let passes = new Map<string, number>();
  for (let pass = 1; pass <= 2; pass++) {
    const plan = planRepair([], [leaked], cidr, passes);
    t.deepEqual(plan.free, [], `pass ${pass}`);
    passes = new Map(plan.leakedPasses);
  }
  t.deepEqual(planRepair([], [leaked], cidr, passes).free, [leaked]);
  // held again meanwhile (its Service was being written): the count starts over
  const held = planRepair([service('x', 'u-gone', '10.96.0.3', 31000)], [leaked], cidr, passes);
  t.deepEqual(held.free, []);
  t.is(held.leakedPasses.size, 0);
});

test('a Service that changes type or is removed frees what it no longer holds', (t) => {
  const before = service('a', 'u-a', '10.96.0.7', 30500);
  const after = service('a', 'u-a', '10.96.0.7');
  t.deepEqual(droppedValues(before, after), [{ kind: 'nodePort', value: '30500' }]);
  t.deepEqual(droppedValues(before, undefined), [
    { kind: 'ip', value: '10.96.0.7' },
    { kind: 'nodePort', value: '30500' },
  ]);
});

test('the repair loop over a real datastore: claims what lacks one, records events, frees a leak on pass 3', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `bosun-repair-${process.pid}-`));
  const storage = new SqliteStorage(join(dir, 'state.db'));
  const registry = new Registry(storage, async () => undefined);
  t.teardown(async () => {
    await registry.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const services = findResource('', 'v1', 'services')!;
  const claims = new ClaimStore(storage);
  // written behind admission's back: two Services with one ClusterIP, and one without claims
  const a = await registry.create(services, 'default', service('a', 'u-a', '10.96.0.10'));
  const b = await registry.create(services, 'default', service('b', 'u-b', '10.96.0.10'));
  await registry.create(services, 'default', service('c', 'u-c', '10.96.0.11', 30999));
  // the first holder has its claim (so this is a repair, not a first migration); one claim leaked
  t.is(await claims.claim('ip', '10.96.0.10', { namespace: 'default', name: 'a', uid: a.metadata.uid! }), 'created');
  t.is(await claims.claim('nodePort', '31111', { namespace: 'default', name: 'gone', uid: 'u-gone' }), 'created');
  const repair = new AllocationRepair({ registry, claims, serviceCidr: cidr, clock: systemClock });
  await repair.repairOnce();
  const events = (await registry.list(findResource('', 'v1', 'events')!, 'default')).items;
  t.deepEqual(events.map((e) => [(e.involvedObject as any).name, e.reason]).sort(), [
    ['b', 'ClusterIPAlreadyAllocated'],
    ['c', 'ClusterIPNotAllocated'],
    ['c', 'PortNotAllocated'],
  ]);
  t.is((events.find((e) => e.reason === 'ClusterIPAlreadyAllocated')!.involvedObject as any).uid, b.metadata.uid);
  t.is(await claims.claim('ip', '10.96.0.11', { namespace: 'default', name: 'other', uid: 'u-other' }), 'taken');
  const leakedStill = async () => (await claims.list('nodePort')).some((c) => c.value === '31111');
  t.true(await leakedStill());
  await repair.repairOnce();
  t.true(await leakedStill(), 'not freed on the second pass');
  await repair.repairOnce();
  t.false(await leakedStill(), 'freed on the third');
});
