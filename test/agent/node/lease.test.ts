/** The node lease: renewed every 10 s, retried 200 ms doubling to 7 s, recreated when deleted. */
import test from 'ava';
import { getEventListeners } from 'node:events';
import { pino } from 'pino';
import type { Lease } from '../../../kube/corev1.ts';
import { desiredLease, NodeLease, type LeaseApi } from '../../../agent/node/lease.ts';
import { ManualClock } from '../manual-clock.ts';
import { t0 } from '../fixtures.ts';

class FakeLeaseApi implements LeaseApi {
  lease: Lease | undefined;
  calls: string[] = [];
  failures = 0;
  #maybeFail(): void {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('connection refused');
    }
  }
  async get(): Promise<Lease | undefined> {
    this.calls.push('get');
    this.#maybeFail();
    return this.lease === undefined ? undefined : structuredClone(this.lease);
  }
  async create(lease: Lease): Promise<Lease> {
    this.calls.push('create');
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: '1' } };
    return this.lease;
  }
  async update(lease: Lease): Promise<Lease> {
    this.calls.push('update');
    this.#maybeFail();
    if (this.lease === undefined) throw new Error('leases "node-1" not found');
    if (this.lease.metadata.resourceVersion !== lease.metadata.resourceVersion) throw new Error('conflict');
    this.lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(Number(lease.metadata.resourceVersion) + 1) },
    };
    return this.lease;
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

/** A node lease running on a manual clock, its first renewal done. */
async function runningLease() {
  const clock = new ManualClock(t0);
  const api = new FakeLeaseApi();
  const lease = new NodeLease({ api, nodeName: 'node-1', nodeUid: 'uid-1', clock, log: pino({ level: 'silent' }) });
  const abort = new AbortController();
  const running = lease.run(abort.signal);
  await flush();
  return { clock, api, lease, abort, running };
}

test('lease: the desired lease is held by the node, 40 s, owned by the Node', (t) => {
  const lease = desiredLease(undefined, 'node-1', 'uid-1', t0);
  t.is(lease.metadata.namespace, 'kube-node-lease');
  t.is(lease.spec?.holderIdentity, 'node-1');
  t.is(lease.spec?.leaseDurationSeconds, 40);
  t.is(lease.spec?.renewTime, '2026-01-01T12:00:00.000000Z');
  t.deepEqual(lease.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'uid-1' }]);
  const renewed = desiredLease(
    { ...lease, metadata: { ...lease.metadata, resourceVersion: '7' } },
    'node-1',
    'uid-1',
    t0 + 10_000,
  );
  t.is(renewed.metadata.resourceVersion, '7', 'updates carry the version they read');
  t.is(renewed.spec?.acquireTime, lease.spec?.acquireTime);
  t.is(renewed.spec?.leaseTransitions, 0);
});

test('lease: renewed every 10 s from the lease last written (no read); failures retried after 200, 400, 800 ms with a fresh read; recreated after deletion', async (t) => {
  const { clock, api, abort, running } = await runningLease();
  t.deepEqual(api.calls, ['get', 'create']);
  clock.advance(10_000);
  await flush();
  t.deepEqual(api.calls.slice(2), ['update'], 'a renewal updates the lease it wrote last, without reading it');
  t.is(api.lease?.spec?.renewTime, '2026-01-01T12:00:10.000000Z');

  api.failures = 3;
  api.calls = [];
  clock.advance(10_000);
  await flush();
  for (const wait of [200, 400, 800]) {
    clock.advance(wait - 1);
    await flush();
    const before = api.calls.length;
    clock.advance(1);
    await flush();
    t.true(api.calls.length > before, `retried after ${wait} ms`);
  }
  t.deepEqual(api.calls, ['update', 'get', 'get', 'get', 'update'], 'after a failure the lease is read again');

  api.lease = undefined;
  api.calls = [];
  clock.advance(10_000);
  await flush();
  clock.advance(200);
  await flush();
  t.deepEqual(api.calls, ['update', 'get', 'create'], 'a deleted lease is created again');
  abort.abort();
  await running;
});

test('lease: renewals leave no abort listener behind on the signal', async (t) => {
  const { clock, lease, abort, running } = await runningLease();
  for (let i = 0; i < 20; i++) {
    clock.advance(10_000);
    await flush();
  }
  t.is(lease.renewals, 21);
  t.is(getEventListeners(abort.signal, 'abort').length, 1, 'only the current wait listens');
  abort.abort();
  await running;
});
