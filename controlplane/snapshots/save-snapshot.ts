/**
 * Saving a snapshot of a running (or stopped) server's datastore: sqlite through SQLite's online
 * backup (a consistent copy while the server writes), etcd through its Maintenance.Snapshot stream
 * (the format `etcdctl snapshot save` writes, restorable by etcd's own tools). The cluster's keys
 * go with it (see snapshot-catalog.ts). Written under a hidden name, renamed when complete.
 */
import {
  copyFileSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { Etcd3 } from 'etcd3';
import { SnapshotError } from '../errors.ts';
import { etcdCredentials, type EtcdClientTls } from '../storage/etcd.ts';
import {
  checkSnapshotName,
  datastoreFile,
  encryptionConfigFile,
  metaFile,
  type SnapshotMeta,
} from './snapshot-catalog.ts';

export type SnapshotSource =
  | { datastore: 'sqlite'; path: string }
  | { datastore: 'etcd'; endpoints: readonly string[]; tls?: EtcdClientTls | undefined };

export interface SaveOptions {
  source: SnapshotSource;
  /** Folder the snapshot folder is made in. */
  dir: string;
  name: string;
  /** The server's data folder, whose pki/ is copied. */
  dataDir: string;
  /** The server's --encryption-provider-config, copied so secrets stay readable after a restore. */
  encryptionConfig?: string | undefined;
  scheduled: boolean;
  bosunVersion: string;
  now?: () => Date;
}

/** The sqlite database at `path`, copied page by page while others may write it. */
async function saveSqlite(path: string, target: string): Promise<void> {
  if (!existsSync(path)) {
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_SAVE_FAILED',
      `no sqlite datastore at ${path}: is --data-dir the server's data folder?`,
    );
  }
  const source = new DatabaseSync(path, { readOnly: true });
  try {
    await backup(source, target);
  } finally {
    source.close();
  }
}

/** etcd's snapshot stream into a file; fails if etcd ends the stream with an error. */
async function saveEtcd(endpoints: readonly string[], tls: EtcdClientTls | undefined, target: string): Promise<void> {
  const client = new Etcd3({ hosts: [...endpoints], ...(tls ? { credentials: etcdCredentials(tls) } : {}) });
  const out = createWriteStream(target, { mode: 0o600 });
  try {
    const stream = await client.maintenance.snapshot();
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk) => {
        if (chunk.blob.length > 0) out.write(chunk.blob);
      });
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    out.destroy();
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_SAVE_FAILED',
      `etcd at ${endpoints.join(',')} gave no snapshot: ${(err as Error).message}`,
    );
  } finally {
    client.close();
  }
}

export async function saveSnapshot(options: SaveOptions): Promise<SnapshotMeta> {
  const name = checkSnapshotName(options.name);
  const final = join(options.dir, name);
  if (existsSync(final)) {
    throw new SnapshotError('BOSUN_SNAPSHOT_EXISTS', `snapshot ${name} exists in ${options.dir}; pick another --name`);
  }
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const partial = join(options.dir, `.${name}.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { mode: 0o700 });
  try {
    const createdAt = (options.now ?? (() => new Date()))().toISOString();
    const dbFile = join(partial, datastoreFile[options.source.datastore]);
    if (options.source.datastore === 'sqlite') await saveSqlite(options.source.path, dbFile);
    else await saveEtcd(options.source.endpoints, options.source.tls, dbFile);
    const pki = join(options.dataDir, 'pki');
    const hasPki = existsSync(pki);
    if (hasPki) cpSync(pki, join(partial, 'pki'), { recursive: true });
    const encryption = options.encryptionConfig !== undefined && existsSync(options.encryptionConfig);
    if (encryption) copyFileSync(options.encryptionConfig!, join(partial, encryptionConfigFile));
    const meta: SnapshotMeta = {
      name,
      datastore: options.source.datastore,
      createdAt,
      scheduled: options.scheduled,
      size: statSync(dbFile).size,
      includes: { pki: hasPki, encryptionConfig: encryption },
      bosunVersion: options.bosunVersion,
    };
    writeFileSync(join(partial, metaFile), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    renameSync(partial, final);
    return meta;
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}
