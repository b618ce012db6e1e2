/**
 * Several `bosun server` processes of one cluster on one etcd (ha/servers.ts starts each), API
 * only unless asked: for the agent failover tests and the ha bench, which kill them one by one.
 * `destroy()` stops them and removes their folders.
 */
import { rmSync } from 'node:fs';
import type { EtcdProcess } from './etcd-process.ts';
import { startHaServer } from './ha/servers.ts';
import type { ServerProcess } from './server-process.ts';

export async function startServerFleet(
  etcd: EtcdProcess,
  count: number,
  options: { controllers?: boolean } = {},
): Promise<{ servers: ServerProcess[]; destroy(): Promise<void> }> {
  const servers: ServerProcess[] = [];
  const folders: string[] = [];
  const destroy = async () => {
    await Promise.all(servers.map((s) => s.destroy()));
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const server = await startHaServer({
        etcdFlags: etcd.serverFlags,
        controllers: options.controllers ?? false,
        ...(servers[0] ? { sharePkiWith: servers[0] } : {}),
      });
      servers.push(server.process);
      folders.push(server.process.dataDir);
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { servers, destroy };
}
