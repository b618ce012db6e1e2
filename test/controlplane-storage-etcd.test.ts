import test from 'ava';
import { EtcdStorage } from '../controlplane/storage/etcd.ts';
import { startEtcd, type EtcdProcess } from './controlplane/etcd-process.ts';
import { storageSuite } from './controlplane/storage-suite.ts';

let etcd: EtcdProcess | undefined;
test.after.always(async () => {
  await etcd?.destroy();
});

storageSuite(test, 'etcd', {
  open: async () => {
    etcd ??= await startEtcd();
    return new EtcdStorage([etcd.endpoint], etcd.clientTls);
  },
});
