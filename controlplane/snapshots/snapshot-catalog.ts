/**
 * Where datastore snapshots live and what each holds. A snapshot is a folder `<dir>/<name>/` with
 * the datastore (`state.db` for sqlite, `etcd.db` for etcd's own snapshot format), the cluster's
 * keys from the data folder (`pki/`: CA, service-account and front-proxy keys) and, when the server
 * encrypts at rest, its EncryptionConfiguration: a cluster restored from it reads its secrets and
 * trusts its nodes again. It is as secret as the data folder (0700).
 *
 * A snapshot is written under a hidden name and renamed when complete, so a listed snapshot is
 * never half-written.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotError } from '../errors.ts';

export interface SnapshotMeta {
  name: string;
  datastore: 'sqlite' | 'etcd';
  /** ISO time the datastore was read. */
  createdAt: string;
  /** Whether a schedule made it (only those are pruned by --snapshot-retention). */
  scheduled: boolean;
  /** Bytes of the datastore file. */
  size: number;
  /** What besides the datastore it holds. */
  includes: { pki: boolean; encryptionConfig: boolean };
  bosunVersion: string;
}

export const metaFile = 'snapshot.json';
export const datastoreFile = { sqlite: 'state.db', etcd: 'etcd.db' } as const;
export const encryptionConfigFile = 'encryption-config.yaml';

/** The name the schedule and `save` without --name give: k3s' `<prefix>-<node>-<unix seconds>` form. */
export function snapshotName(prefix: string, host: string, at: Date): string {
  return `${prefix}-${host.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${Math.floor(at.getTime() / 1000)}`;
}

const namePattern = /^[a-z0-9]([-a-z0-9.]{0,126}[a-z0-9])?$/;

/** A name becomes a folder name: only lower-case letters, digits, `-` and `.`, no `..`. */
export function checkSnapshotName(name: string): string {
  if (!namePattern.test(name) || name.includes('..')) {
    throw new SnapshotError(
      'BOSUN_SNAPSHOT_BAD_NAME',
      `snapshot name ${JSON.stringify(name)} is not valid: use lower-case letters, digits, '-' and '.' (at most 128)`,
    );
  }
  return name;
}

/** Every complete snapshot in a folder, newest first. Folders without a readable meta file are not snapshots. */
export function listSnapshots(dir: string): SnapshotMeta[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const snapshots: SnapshotMeta[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    try {
      if (!statSync(join(dir, name)).isDirectory()) continue;
      const meta = JSON.parse(readFileSync(join(dir, name, metaFile), 'utf8')) as SnapshotMeta;
      if (meta.name === name) snapshots.push(meta);
    } catch {
      // not a snapshot of ours
    }
  }
  return snapshots.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
}

/** The scheduled snapshots beyond the newest `retention`, which pruning removes. Taken by hand: kept. */
export function snapshotsToPrune(snapshots: readonly SnapshotMeta[], retention: number): SnapshotMeta[] {
  return snapshots.filter((s) => s.scheduled).slice(Math.max(0, retention));
}
