/**
 * etcd's own restore of a snapshot file into a new data folder: `etcdutl snapshot restore` (etcd
 * 3.5 and later), else `etcdctl snapshot restore` with the v3 API (etcd 3.4, Debian 12's). The
 * restored member is a single-member cluster named `default`, etcd's defaults, which an etcd
 * started with `--data-dir <folder>` serves.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from '../process/run.ts';

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

export async function restoreEtcdSnapshot(snapshotFile: string, etcdDataDir: string): Promise<void> {
  const tool = onPath('etcdutl') ? 'etcdutl' : onPath('etcdctl') ? 'etcdctl' : undefined;
  if (tool === undefined) throw new Error('neither etcdutl nor etcdctl is installed (apt-get install etcd-client)');
  const result = await run([tool, 'snapshot', 'restore', snapshotFile, '--data-dir', etcdDataDir], {
    env: { ETCDCTL_API: '3' },
    timeoutMs: 120_000,
  });
  if (result.code !== 0) {
    const lines = `${result.stderr}\n${result.stdout}`.trim().split('\n');
    throw new Error(`${tool} snapshot restore failed: ${lines[lines.length - 1] ?? `exit ${result.code}`}`);
  }
}
