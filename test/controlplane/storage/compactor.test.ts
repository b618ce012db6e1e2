/** The compactor keeps one interval of history: after it runs, older revisions are gone, newer ones stay. */
import test from 'ava';
import { pino } from 'pino';
import { startCompactor } from '../../../controlplane/storage/compactor.ts';
import { isStorageError } from '../../../controlplane/errors.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import { waitFor } from '../ports.ts';

test('compacts to the revision seen one interval earlier', async (t) => {
  const storage = new SqliteStorage(':memory:');
  const compactor = startCompactor(storage, 100, pino({ level: 'silent' }));
  try {
    const first = await storage.create('/registry/configmaps/default/a', '1');
    await waitFor('a first compaction', async () => (await storage.compactedRevision()) >= first.modRevision, 5000);
    const err = await t.throwsAsync(
      storage.watch('/registry/', first.modRevision - 1, { onChange: () => undefined, onError: () => undefined }),
    );
    t.true(isStorageError(err, 'BOSUN_STORAGE_COMPACTED'));
    // A write made now stays watchable for at least one more interval.
    const recent = await storage.create('/registry/configmaps/default/b', '2');
    const handle = await storage.watch('/registry/', recent.modRevision - 1, {
      onChange: () => undefined,
      onError: () => undefined,
    });
    handle.cancel();
    t.pass();
  } finally {
    compactor.stop();
    await storage.close();
  }
});
