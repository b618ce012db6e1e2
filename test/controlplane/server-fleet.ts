/**
 * Several `bosun server` processes of one cluster on one etcd, as `bosun server join` lays them
 * out: the first makes the cluster's keys, the others start from copies of its CA, service-account
 * key and front-proxy CA (and issue their own serving certificates). For failover tests and benches.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdProcess } from './etcd-process.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

const sharedFiles = ['ca.crt', 'ca.key', 'sa.key', 'front-proxy-ca.crt', 'front-proxy-ca.key'];

export async function startServerFleet(
  etcd: EtcdProcess,
  count: number,
  options: { controllers?: boolean } = {},
): Promise<{ servers: ServerProcess[]; destroy(): Promise<void> }> {
  const first = await startServerProcess({ datastore: 'etcd', etcd, controllers: options.controllers ?? false });
  const fleet = [first];
  const folders: string[] = [];
  const destroy = async () => {
    await Promise.all(fleet.map((s) => s.destroy()));
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  };
  try {
    for (let i = 1; i < count; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `bosun-server-${process.pid}-${i}-`));
      folders.push(dataDir);
      mkdirSync(join(dataDir, 'pki'), { mode: 0o700 });
      for (const file of sharedFiles) copyFileSync(join(first.dataDir, 'pki', file), join(dataDir, 'pki', file));
      fleet.push(
        await startServerProcess({ datastore: 'etcd', etcd, dataDir, controllers: options.controllers ?? false }),
      );
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { servers: fleet, destroy };
}
