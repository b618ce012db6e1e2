/**
 * Restoring a snapshot into a new data folder that `bosun server --data-dir` then starts from: the
 * datastore, the cluster's keys and the at-rest encryption config. Nothing existing is overwritten:
 * the target must be new (or an empty folder); everything is written to a staging folder first and
 * renamed into place, so a failed restore leaves no half-written folder. An etcd snapshot is
 * restored by etcd's own tool (etcdutl, or etcdctl on etcd 3.4) into a new etcd data folder.
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SnapshotError } from '../errors.ts';
import { datastoreFile, encryptionConfigFile, metaFile, type SnapshotMeta } from './snapshot-catalog.ts';

/** Runs etcd's restore: `<tool> snapshot restore <file> --data-dir <dir>`. */
export type EtcdRestoreTool = (snapshotFile: string, etcdDataDir: string) => Promise<void>;

export interface RestoreOptions {
  /** The snapshot's folder. */
  snapshot: string;
  /** The new server data folder. */
  dataDir: string;
  /** For an etcd snapshot: the new etcd data folder, and how to run etcd's restore. */
  etcd?: { dataDir: string; restore: EtcdRestoreTool } | undefined;
}

export interface RestoreResult {
  meta: SnapshotMeta;
  /** Where the EncryptionConfiguration went (pass it as --encryption-provider-config), if the snapshot had one. */
  encryptionConfig?: string | undefined;
}

export function readSnapshotMeta(folder: string): SnapshotMeta {
  try {
    return JSON.parse(readFileSync(join(folder, metaFile), 'utf8')) as SnapshotMeta;
  } catch {
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_NOT_FOUND',
      `${folder} is not a bosun snapshot (no readable ${metaFile}); bosun datastore snapshot list shows them`,
    );
  }
}

/** A target that does not exist, or an empty folder, is new; anything else is refused untouched. */
function checkNewFolder(path: string, what: string): void {
  if (!existsSync(path)) return;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_RESTORE_REFUSED',
      `${what} ${path} exists and is not a folder; nothing was changed`,
    );
  }
  if (entries.length > 0) {
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_RESTORE_REFUSED',
      `${what} ${path} is not empty; restore into a new folder (nothing was changed)`,
    );
  }
}

/** Moves a finished staging folder to a target that is absent or an empty folder. */
function moveIntoPlace(staging: string, target: string): void {
  if (existsSync(target)) rmdirSync(target);
  renameSync(staging, target);
}

export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const meta = readSnapshotMeta(options.snapshot);
  const dataDir = resolve(options.dataDir);
  checkNewFolder(dataDir, 'data folder');
  if (meta.datastore === 'etcd') {
    if (options.etcd === undefined) {
      throw new SnapshotError(
        'BOSUN_SNAPSHOT_RESTORE_REFUSED',
        `snapshot ${meta.name} is of an etcd datastore: name the new etcd data folder with --etcd-data-dir`,
      );
    }
    checkNewFolder(resolve(options.etcd.dataDir), 'etcd data folder');
  }
  mkdirSync(dirname(dataDir), { recursive: true });
  const staging = `${dataDir}.restoring-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  try {
    if (meta.datastore === 'sqlite') {
      mkdirSync(join(staging, 'db'), { mode: 0o700 });
      copyFileSync(join(options.snapshot, datastoreFile.sqlite), join(staging, 'db', 'state.db'));
    }
    if (meta.includes.pki) cpSync(join(options.snapshot, 'pki'), join(staging, 'pki'), { recursive: true });
    if (meta.includes.encryptionConfig) {
      copyFileSync(join(options.snapshot, encryptionConfigFile), join(staging, encryptionConfigFile));
    }
    if (meta.datastore === 'etcd' && options.etcd !== undefined) {
      const etcdDataDir = resolve(options.etcd.dataDir);
      const etcdStaging = `${etcdDataDir}.restoring-${process.pid}`;
      rmSync(etcdStaging, { recursive: true, force: true });
      mkdirSync(dirname(etcdStaging), { recursive: true });
      try {
        // etcd's restore makes its folder itself and refuses an existing one
        await options.etcd.restore(join(options.snapshot, datastoreFile.etcd), etcdStaging);
      } catch (err) {
        rmSync(etcdStaging, { recursive: true, force: true });
        throw new SnapshotError(
          'BOSUN_SNAPSHOT_RESTORE_FAILED',
          `etcd could not restore ${meta.name}: ${(err as Error).message}`,
        );
      }
      moveIntoPlace(etcdStaging, etcdDataDir);
    }
    moveIntoPlace(staging, dataDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return {
    meta,
    encryptionConfig: meta.includes.encryptionConfig ? join(dataDir, encryptionConfigFile) : undefined,
  };
}
