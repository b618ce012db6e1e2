/**
 * One behaviour suite for every Storage backend: each backend's test file calls storageSuite with a
 * factory, so both backends are held to exactly the same contract (controlplane/storage/store.ts).
 */
import type { TestFn } from 'ava';
import { isStorageError } from '../../controlplane/errors.ts';
import type { Change, Storage } from '../../controlplane/storage/store.ts';

interface StoreFactory {
  /** Opens the store (again, on the same data, when called a second time after close). */
  open(): Promise<Storage>;
}

function collector() {
  const changes: Change[] = [];
  const errors: Error[] = [];
  let wake: (() => void) | undefined;
  return {
    changes,
    errors,
    callbacks: {
      onChange: (c: Change) => {
        changes.push(c);
        wake?.();
      },
      onError: (e: Error) => {
        errors.push(e);
        wake?.();
      },
    },
    async until(count: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (changes.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`only ${changes.length} of ${count} watch events arrived in ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, Math.min(left, 100));
        });
      }
    },
  };
}

export function storageSuite(test: TestFn, name: string, factory: StoreFactory): void {
  let store: Storage;
  test.before(async () => {
    store = await factory.open();
  });
  test.after.always(async () => {
    await store?.close();
  });

  test(`${name}: create, get, list and KeyExists`, async (t) => {
    const a = await store.create('/registry/pods/crud/a', '{"a":1}');
    t.true(a.modRevision > 0);
    t.is(a.createRevision, a.modRevision);
    const b = await store.create('/registry/pods/crud/b', '{"b":1}');
    t.true(b.modRevision > a.modRevision, 'each write takes a higher revision');
    t.deepEqual(await store.get('/registry/pods/crud/a'), a);
    t.is(await store.get('/registry/pods/crud/none'), undefined);
    const err = await t.throwsAsync(store.create('/registry/pods/crud/a', '{}'));
    t.true(isStorageError(err, 'BOSUN_STORAGE_KEY_EXISTS'), String(err));
    const listed = await store.list('/registry/pods/crud/');
    t.deepEqual(
      listed.items.map((i) => i.key),
      ['/registry/pods/crud/a', '/registry/pods/crud/b'],
    );
    t.true(listed.revision >= b.modRevision);
    t.false(listed.more);
    // A prefix never matches a sibling that merely starts with the same letters.
    await store.create('/registry/pods/crudx/c', '{}');
    t.is((await store.list('/registry/pods/crud/')).items.length, 2);
  });

  test(`${name}: update with a stale revision is a Conflict and changes nothing`, async (t) => {
    const created = await store.create('/registry/leases/cas/x', 'v1');
    const updated = await store.update('/registry/leases/cas/x', 'v2', created.modRevision);
    t.true(updated.modRevision > created.modRevision);
    t.is(updated.createRevision, created.createRevision);
    const stale = await t.throwsAsync(store.update('/registry/leases/cas/x', 'v3', created.modRevision));
    t.true(isStorageError(stale, 'BOSUN_STORAGE_CONFLICT'), String(stale));
    t.is((await store.get('/registry/leases/cas/x'))?.value, 'v2');
    const missing = await t.throwsAsync(store.update('/registry/leases/cas/none', 'v', 1));
    t.true(isStorageError(missing, 'BOSUN_STORAGE_NOT_FOUND'), String(missing));
  });

  test(`${name}: delete returns the old value and honours the expected revision`, async (t) => {
    const created = await store.create('/registry/configmaps/del/x', 'old');
    const updated = await store.update('/registry/configmaps/del/x', 'new', created.modRevision);
    const stale = await t.throwsAsync(store.delete('/registry/configmaps/del/x', created.modRevision));
    t.true(isStorageError(stale, 'BOSUN_STORAGE_CONFLICT'), String(stale));
    const deleted = await store.delete('/registry/configmaps/del/x', updated.modRevision);
    t.is(deleted.value, 'new');
    t.true(deleted.modRevision > updated.modRevision);
    t.is(await store.get('/registry/configmaps/del/x'), undefined);
    const again = await t.throwsAsync(store.delete('/registry/configmaps/del/x'));
    t.true(isStorageError(again, 'BOSUN_STORAGE_NOT_FOUND'), String(again));
    // The key can live again after its deletion.
    const reborn = await store.create('/registry/configmaps/del/x', 'again');
    t.is(reborn.createRevision, reborn.modRevision);
  });

  test(`${name}: list pages with limit and afterKey`, async (t) => {
    for (let i = 0; i < 7; i++) await store.create(`/registry/secrets/page/s${i}`, String(i));
    const seen: string[] = [];
    let afterKey: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await store.list('/registry/secrets/page/', { limit: 3, ...(afterKey ? { afterKey } : {}) });
      pages++;
      seen.push(...page.items.map((i) => i.value));
      if (!page.more) break;
      afterKey = page.items.at(-1)!.key;
    }
    t.deepEqual(seen, ['0', '1', '2', '3', '4', '5', '6']);
    t.is(pages, 3);
  });

  test(`${name}: a list at a revision pages through that snapshot while writes go on`, async (t) => {
    const prefix = '/registry/configmaps/snap/';
    const first: Record<string, number> = {};
    for (const name of ['b', 'c', 'd', 'e', 'f'])
      first[name] = (await store.create(`${prefix}${name}`, `${name}1`)).modRevision;
    const snapshot = (await store.list(prefix)).revision;
    // between pages: a key created before all others, one updated, one deleted, one deleted and made again
    await store.create(`${prefix}a`, 'a1');
    await store.update(`${prefix}c`, 'c2', first.c!);
    await store.delete(`${prefix}d`);
    await store.delete(`${prefix}e`);
    await store.create(`${prefix}e`, 'e2');
    await store.create(`${prefix}g`, 'g1');
    const seen: [string, string, number][] = [];
    const remaining: number[] = [];
    let afterKey: string | undefined;
    for (;;) {
      const page = await store.list(prefix, { limit: 2, atRevision: snapshot, ...(afterKey ? { afterKey } : {}) });
      t.is(page.revision, snapshot);
      seen.push(
        ...page.items.map((i): [string, string, number] => [i.key.slice(prefix.length), i.value, i.modRevision]),
      );
      remaining.push(page.remaining);
      if (!page.more) break;
      afterKey = page.items.at(-1)!.key;
    }
    t.deepEqual(
      seen,
      ['b', 'c', 'd', 'e', 'f'].map((n) => [n, `${n}1`, first[n]!]),
    );
    t.deepEqual(remaining, [3, 1, 0]);
    const now = await store.list(prefix, { limit: 2 });
    t.deepEqual(
      now.items.map((i) => i.value),
      ['a1', 'b1'],
    );
    t.is(now.remaining, 4);
    const future = await t.throwsAsync(store.list(prefix, { atRevision: (await store.currentRevision()) + 100 }));
    t.true(isStorageError(future, 'BOSUN_STORAGE_FUTURE_REVISION'), String(future));
  });

  test(`${name}: every earlier state reads back the same, whole and in pages`, async (t) => {
    const prefix = '/registry/secrets/replay/';
    // a fixed pseudo-random run of creates, updates and deletes over a few keys
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const states: { revision: number; items: [string, string, number][] }[] = [];
    const live = new Map<string, number>();
    for (let step = 0; step < 60; step++) {
      const key = `${prefix}k${next(8)}`;
      const held = live.get(key);
      let written;
      if (held === undefined) written = await store.create(key, `v${step}`);
      else if (next(3) === 0) {
        written = await store.delete(key);
        live.delete(key);
      } else written = await store.update(key, `v${step}`, held);
      if (live.has(key) || held === undefined) live.set(key, written.modRevision);
      const now = await store.list(prefix);
      states.push({ revision: now.revision, items: now.items.map((i) => [i.key, i.value, i.modRevision]) });
    }
    for (const state of states) {
      const whole = await store.list(prefix, { atRevision: state.revision });
      t.deepEqual(
        whole.items.map((i) => [i.key, i.value, i.modRevision]),
        state.items,
        `at ${state.revision}`,
      );
      const paged: [string, string, number][] = [];
      let afterKey: string | undefined;
      for (;;) {
        const page = await store.list(prefix, {
          limit: 3,
          atRevision: state.revision,
          ...(afterKey ? { afterKey } : {}),
        });
        paged.push(...page.items.map((i): [string, string, number] => [i.key, i.value, i.modRevision]));
        t.is(page.remaining, state.items.length - paged.length, `remaining at ${state.revision}`);
        if (!page.more) break;
        afterKey = page.items.at(-1)!.key;
      }
      t.deepEqual(paged, state.items, `paged at ${state.revision}`);
    }
  });

  test.serial(`${name}: a list at a compacted revision fails with Compacted`, async (t) => {
    const first = await store.create('/registry/configmaps/gone/x', '1');
    await store.update('/registry/configmaps/gone/x', '2', first.modRevision);
    await store.compact(first.modRevision + 1);
    const err = await t.throwsAsync(store.list('/registry/configmaps/gone/', { atRevision: first.modRevision }));
    t.true(isStorageError(err, 'BOSUN_STORAGE_COMPACTED'), String(err));
    t.deepEqual(
      (await store.list('/registry/configmaps/gone/', { atRevision: first.modRevision + 1 })).items.map((i) => i.value),
      ['2'],
    );
  });

  test(`${name}: watch replays from a revision, then follows live changes in order`, async (t) => {
    const start = await store.create('/registry/nodes/w/n1', 'a');
    const second = await store.update('/registry/nodes/w/n1', 'b', start.modRevision);
    await store.create('/registry/nodes/other/n9', 'not watched');
    const watch = collector();
    const handle = await store.watch('/registry/nodes/w/', start.modRevision, watch.callbacks);
    await store.create('/registry/nodes/w/n2', 'c');
    await store.delete('/registry/nodes/w/n1');
    await watch.until(3);
    handle.cancel();
    t.deepEqual(
      watch.changes.map((c) => [c.type, c.key, c.value, c.created]),
      [
        ['put', '/registry/nodes/w/n1', 'b', false],
        ['put', '/registry/nodes/w/n2', 'c', true],
        ['delete', '/registry/nodes/w/n1', 'b', false],
      ],
    );
    t.is(watch.changes[0]!.revision, second.modRevision);
    t.is(watch.changes[0]!.prevValue, 'a', 'an update carries the value it replaced');
    t.is(watch.changes[1]!.prevValue, undefined, 'a create has no previous value');
    const revisions = watch.changes.map((c) => c.revision);
    t.deepEqual(
      [...revisions].sort((x, y) => x - y),
      revisions,
      'revision order',
    );
    await store.create('/registry/nodes/w/n3', 'after cancel');
    await new Promise((r) => setTimeout(r, 200));
    t.is(watch.changes.length, 3, 'no delivery after cancel');
    t.deepEqual(watch.errors, []);
  });

  test.serial(`${name}: a watch from before the compacted revision fails with Compacted`, async (t) => {
    const first = await store.create('/registry/events/c/e1', '1');
    const second = await store.update('/registry/events/c/e1', '2', first.modRevision);
    await store.update('/registry/events/c/e1', '3', second.modRevision);
    await store.compact(second.modRevision);
    t.true((await store.compactedRevision()) >= second.modRevision);
    const err = await t.throwsAsync(store.watch('/registry/events/c/', first.modRevision, collector().callbacks));
    t.true(isStorageError(err, 'BOSUN_STORAGE_COMPACTED'), String(err));
    const watch = collector();
    const handle = await store.watch('/registry/events/c/', second.modRevision, watch.callbacks);
    await watch.until(1);
    handle.cancel();
    t.is(watch.changes[0]!.value, '3');
  });

  test.serial(`${name}: data and revision survive a restart`, async (t) => {
    const written = await store.create('/registry/namespaces/restart/ns', 'kept');
    const before = await store.currentRevision();
    await store.close();
    store = await factory.open();
    t.deepEqual(await store.get('/registry/namespaces/restart/ns'), written);
    t.is(await store.currentRevision(), before);
    const next = await store.create('/registry/namespaces/restart/ns2', 'new');
    t.true(next.modRevision > before, 'revisions keep rising after a restart');
  });
}
