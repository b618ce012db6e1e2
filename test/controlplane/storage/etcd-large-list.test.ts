/**
 * A list larger than gRPC's default 4 MiB answer: etcd's Go client (upstream's API server's)
 * receives any size, and so does bosun's, or a cluster with more than about 4 MiB of one resource (12,000
 * small ConfigMaps) could no longer list it, and every controller watching it would wait forever.
 */
import test from 'ava';
import { EtcdStorage } from '../../../controlplane/storage/etcd.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';

let etcd: EtcdProcess | undefined;
test.after.always(async () => {
  await etcd?.destroy();
});

test('a list of 6 MiB comes back whole', async (t) => {
  etcd = await startEtcd();
  const storage = new EtcdStorage([etcd.endpoint], etcd.clientTls);
  try {
    const value = JSON.stringify({ data: 'x'.repeat(512 * 1024) });
    for (let i = 0; i < 12; i++)
      await storage.create(`/registry/configmaps/big/cm-${String(i).padStart(2, '0')}`, value);
    const listed = await storage.list('/registry/configmaps/big/');
    t.is(listed.items.length, 12);
    t.true(listed.items.every((item) => item.value === value));
  } finally {
    await storage.close();
  }
});
