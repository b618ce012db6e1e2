/**
 * A private key and its certificate kept as the two files upstream tools expect (`<name>.key`,
 * `<name>.crt`, kubeadm's layout under pki/), replaced together so that no reader is ever handed a
 * key that does not belong to its certificate, even after a crash (kill -9, power cut) in the
 * middle of a renewal, and with two writers at once (the server's renewal and `bosun certs renew`).
 *
 * Writing a new pair (writeKeyPair), holding `<name>.lock` (see below):
 *   1. `<name>.crt.new` and `<name>.key.new` are written and flushed to disk; the pair in use is untouched;
 *   2. `<name>.key.new` is renamed over `<name>.key`;
 *   3. `<name>.crt.new` is renamed over `<name>.crt`, and the folder is flushed.
 * A crash leaves one of three states:
 *   - before step 2: the old pair, whole (leftover `.new` files are ignored and overwritten next time);
 *   - between steps 2 and 3: the new key beside the old certificate, and the new certificate, whole
 *     and flushed, in `<name>.crt.new`;
 *   - after step 3: the new pair.
 *
 * Reading (readKeyPair) checks that the key belongs to the certificate (same public key). When it
 * does not, and no live writer holds the lock, and `<name>.crt.new` belongs to the key, the
 * interrupted write is finished (step 3 again) and the new pair is read; the next writer finishes
 * it too before it writes its own `.new` files, which would otherwise overwrite the only copy. While a live writer holds
 * the lock, the reader waits a moment and reads again (it may have seen the files straddle step 2).
 * A pair that matches in no way is an error that names both files.
 *
 * The lock is a file created exclusively that holds its writer's PID: two writers interleaving
 * their renames could otherwise leave one's key beside the other's certificate. A lock whose
 * process is gone (killed mid-write) is taken over.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { syncFolder, writeFileDurably } from './atomic-file.ts';
import { KeyPairBusyError, KeyPairMismatchError } from './errors.ts';

export interface KeyPair {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

interface KeyPairPaths {
  readonly cert: string;
  readonly key: string;
}

export const keyPairPaths = (dir: string, name: string): KeyPairPaths => ({
  cert: join(dir, `${name}.crt`),
  key: join(dir, `${name}.key`),
});

/** Whether the private key belongs to the certificate; false for anything unreadable (a torn file). */
export function keyMatchesCertificate(pair: KeyPair): boolean {
  try {
    return new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key));
  } catch {
    return false;
  }
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for `ms` (these calls are synchronous; a wait happens only while another process writes the pair). */
const sleep = (ms: number) => Atomics.wait(pause, 0, 0, ms);
const retryMs = 10;
/** How long a reader or writer waits for another writer: a write takes milliseconds. */
const waitLimitMs = 5_000;

const lockPath = (dir: string, name: string) => join(dir, `${name}.lock`);

/** Whether a live process other than a crashed one holds the pair's lock. */
function lockHeld(path: string): boolean {
  const pid = Number(readIfThere(path));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the lock with its PID already in it: the PID is written to a file of this process's own,
 * which is then linked to the lock's name (a link fails when the name exists). A lock created
 * empty and filled afterwards would look abandoned to another writer in between.
 */
function tryLock(path: string): boolean {
  const mine = `${path}.${process.pid}`;
  const fd = openSync(mine, 'w', 0o600);
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(mine, { force: true });
  }
}

function withLock<T>(dir: string, name: string, write: () => T): T {
  const path = lockPath(dir, name);
  const until = Date.now() + waitLimitMs;
  while (!tryLock(path)) {
    const holder = readIfThere(path);
    // a writer killed mid-write leaves its lock: take it over (the files it left are recoverable),
    // unless another writer took it over meanwhile (the lock then names a live process)
    if (!lockHeld(path)) {
      if (readIfThere(path) === holder) rmSync(path, { force: true });
    } else if (Date.now() > until)
      throw new KeyPairBusyError(`${path} has been held by process ${holder} for ${waitLimitMs / 1000} s`);
    else sleep(retryMs);
  }
  try {
    return write();
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Finishes a write interrupted between its two renames: the key is new, the certificate old, and
 * the new certificate waits whole in `<name>.crt.new`. Only without a live writer (or as the writer).
 */
function finishInterruptedWrite(dir: string, paths: KeyPairPaths): boolean {
  const key = readIfThere(paths.key);
  const cert = readIfThere(paths.cert);
  const pending = readIfThere(`${paths.cert}.new`);
  if (key === undefined || pending === undefined) return false;
  if (cert !== undefined && keyMatchesCertificate({ cert, key })) return false;
  if (!keyMatchesCertificate({ cert: pending, key })) return false;
  try {
    renameSync(`${paths.cert}.new`, paths.cert);
    syncFolder(dir);
  } catch (err) {
    // another reader finished it first
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return true;
}

/** The pair stored under `dir` as `<name>.crt`/`<name>.key`, finishing an interrupted write; undefined when neither file exists. */
export function readKeyPair(dir: string, name: string): KeyPair | undefined {
  const paths = keyPairPaths(dir, name);
  const until = Date.now() + waitLimitMs;
  for (let attempt = 0; ; attempt++) {
    const key = readIfThere(paths.key);
    const cert = readIfThere(paths.cert);
    if (key === undefined && cert === undefined) return undefined;
    if (key !== undefined && cert !== undefined && keyMatchesCertificate({ cert, key })) return { cert, key };
    if (lockHeld(lockPath(dir, name)) && Date.now() < until) {
      sleep(retryMs);
      continue;
    }
    finishInterruptedWrite(dir, paths);
    // read again: the write finished just now, or a writer came and went between the two reads above
    if (attempt < 3) continue;
    throw new KeyPairMismatchError(
      `the private key ${paths.key} does not belong to the certificate ${paths.cert}; restore both from a backup or remove both to have them issued again`,
    );
  }
}

/** Replaces the pair stored under `dir` as `<name>.crt` (0644) and `<name>.key` (0600), in the order described above. */
export function writeKeyPair(dir: string, name: string, pair: KeyPair): KeyPair {
  const paths = keyPairPaths(dir, name);
  return withLock(dir, name, () => {
    // a write killed between its renames left the only copy of its certificate in .crt.new
    finishInterruptedWrite(dir, paths);
    writeFileDurably(`${paths.cert}.new`, pair.cert, 0o644);
    writeFileDurably(`${paths.key}.new`, pair.key, 0o600);
    syncFolder(dir);
    renameSync(`${paths.key}.new`, paths.key);
    renameSync(`${paths.cert}.new`, paths.cert);
    syncFolder(dir);
    return pair;
  });
}
