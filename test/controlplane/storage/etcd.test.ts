import test from 'ava';
import { EtcdStorage } from '../../../controlplane/storage/etcd.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { storageSuite } from '../storage-suite.ts';

// one etcd for the file, started by whichever test opens a store first (tests run at once)
let etcd: Promise<EtcdProcess> | undefined;
test.after.always(async () => {
  await (await etcd)?.destroy();
});

storageSuite(test, 'etcd', {
  open: async () => {
    const running = await (etcd ??= startEtcd());
    return new EtcdStorage([running.endpoint], running.clientTls);
  },
});
