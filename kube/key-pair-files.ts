/**
 * A private key and its certificate kept as the two files upstream tools expect (`<name>.key`,
 * `<name>.crt`, kubeadm's layout under pki/), replaced together so that no reader is ever handed a
 * key that does not belong to its certificate, even after a crash (kill -9, power cut) in the
 * middle of a renewal.
 *
 * Writing a new pair (writeKeyPair):
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
 * does not and `<name>.crt.new` does, the interrupted write is finished (step 3 again) and the new
 * pair is read; a pair that matches in no way is an error that names both files. A reader racing a
 * writer in another process reads again: the files it saw may straddle step 2.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { syncFolder, writeFileDurably } from './atomic-file.ts';

export interface KeyPair {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

export interface KeyPairPaths {
  readonly cert: string;
  readonly key: string;
}

export const keyPairPaths = (dir: string, name: string): KeyPairPaths => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

/** A key and certificate that do not belong together, with no interrupted write to finish. */
export class KeyPairMismatchError extends Error {
  readonly code = 'KEY_PAIR_MISMATCH';
}

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

/** Reads a moment's view of both files again: a writer in another process may be between its renames. */
const readAttempts = 5;

/** The pair stored under `dir` as `<name>.crt`/`<name>.key`, finishing an interrupted write; undefined when neither file exists. */
export function readKeyPair(dir: string, name: string): KeyPair | undefined {
  const paths = keyPairPaths(dir, name);
  for (let attempt = 0; attempt < readAttempts; attempt++) {
    const key = readIfThere(paths.key);
    const cert = readIfThere(paths.cert);
    if (key === undefined && cert === undefined) return undefined;
    if (key !== undefined && cert !== undefined && keyMatchesCertificate({ cert, key })) return { cert, key };
    const pending = readIfThere(`${paths.cert}.new`);
    if (key !== undefined && pending !== undefined && keyMatchesCertificate({ cert: pending, key })) {
      try {
        renameSync(`${paths.cert}.new`, paths.cert);
        syncFolder(dir);
      } catch (err) {
        // another reader (or the writer itself) finished it first
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  throw new KeyPairMismatchError(`the private key ${paths.key} does not belong to the certificate ${paths.cert}; restore both from a backup or remove both to have them issued again`);
}

/** Replaces the pair stored under `dir` as `<name>.crt` (0644) and `<name>.key` (0600), in the order described above. */
export function writeKeyPair(dir: string, name: string, pair: KeyPair): KeyPair {
  const paths = keyPairPaths(dir, name);
  writeFileDurably(`${paths.cert}.new`, pair.cert, 0o644);
  writeFileDurably(`${paths.key}.new`, pair.key, 0o600);
  syncFolder(dir);
  renameSync(`${paths.key}.new`, paths.key);
  renameSync(`${paths.cert}.new`, paths.cert);
  syncFolder(dir);
  return pair;
}
