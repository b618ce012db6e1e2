import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import { storageSuite } from '../storage-suite.ts';

const dir = mkdtempSync(join(tmpdir(), `bosun-sqlite-${process.pid}-`));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

storageSuite(test, 'sqlite', { open: async () => new SqliteStorage(join(dir, 'state.db')) });

/** A stand-in for fsync that holds each sync until the test lets it finish. */
function heldSyncs() {
  const waiting: ((err: Error | null) => void)[] = [];
  return {
    syncLog: (_fd: number, done: (err: Error | null) => void) => {
      waiting.push(done);
    },
    get pending() {
      return waiting.length;
    },
    finish(err: Error | null = null) {
      waiting.shift()!(err);
    },
  };
}

const turns = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('sqlite: a write is answered and watched only once its commit is synced, off the event loop, one sync for the commits made meanwhile', async (t) => {
  const syncs = heldSyncs();
  const store = new SqliteStorage(join(dir, 'held-sync.db'), { syncLog: syncs.syncLog });
  const seen: string[] = [];
  const unexpected = (err: Error) => t.fail(err.message);
  const watch = await store.watch('/a/', 0, {
    onChange: (c) => seen.push(`${c.key}@${c.revision}`),
    onError: unexpected,
  });
  let firstDone = false;
  const first = store.create('/a/1', 'one').then((kv) => {
    firstDone = true;
    return kv;
  });
  await turns();
  t.is(syncs.pending, 1, 'the commit waits for one sync');
  t.is((await store.get('/a/1'))?.value, 'one', 'committed: readable');
  t.false(firstDone, 'not answered before the sync');
  t.deepEqual(seen, [], 'not watched before the sync');
  t.is(store.deliveredRevision(), 0);
  // commits while a sync runs wait for the next one, in one sync together
  let laterDone = 0;
  const later = [store.create('/a/2', 'two'), store.create('/a/3', 'three')].map((p) =>
    p.then(() => {
      laterDone++;
    }),
  );
  await turns();
  t.is(syncs.pending, 1, 'no second sync while the first runs');
  // a watch from the newest revision while its commit is unsynced: each later change exactly once
  const fromNewest: string[] = [];
  const current = await store.currentRevision();
  const newest = await store.watch('/a/', current - 1, {
    onChange: (c) => fromNewest.push(c.key),
    onError: unexpected,
  });
  syncs.finish();
  t.is((await first).modRevision, 1);
  await turns();
  t.deepEqual(seen, ['/a/1@1']);
  t.is(laterDone, 0, 'the later commits wait for their own sync');
  t.is(syncs.pending, 1, 'which started as soon as the first ended');
  syncs.finish();
  await Promise.all(later);
  await turns();
  t.deepEqual(seen, ['/a/1@1', '/a/2@2', '/a/3@3']);
  t.deepEqual(fromNewest, ['/a/3'], 'the change at the watch start is not repeated');
  t.is(store.deliveredRevision(), 3);
  // a failed sync: the writer hears "unavailable" (maybe written), watchers still get the change
  const failing = store.create('/a/4', 'four');
  await turns();
  syncs.finish(new Error('EIO'));
  const err = await t.throwsAsync(failing);
  t.is((err as { code?: string }).code, 'BOSUN_STORAGE_UNAVAILABLE');
  await turns();
  t.deepEqual(seen.at(-1), '/a/4@4');
  // close waits for the syncs of what is queued
  watch.cancel();
  newest.cancel();
  const last = store.create('/a/5', 'five');
  const closed = store.close();
  await turns();
  syncs.finish();
  await closed;
  t.is((await last).modRevision, 5);
});
