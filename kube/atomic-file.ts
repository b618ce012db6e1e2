/**
 * Replacing a file in one step: the new content goes to a temporary file beside it, is flushed to
 * disk, and is renamed over the old one; the folder is flushed too, so the rename itself survives a
 * power cut. A reader sees the old file or the new one, never half of either, and a crash (kill -9)
 * at any point leaves one of the two.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `path` with `data` and flushes it to disk (created with `mode`; an old file is replaced, not reused, so the mode always applies). */
export function writeFileDurably(path: string, data: string | Buffer, mode: number): void {
  rmSync(path, { force: true });
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a folder's entries (renames, new files) to disk. */
export function syncFolder(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with `data` atomically (temporary file, flush, rename, flush the folder). */
export function writeFileAtomically(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileDurably(tmp, data, mode);
  renameSync(tmp, path);
  syncFolder(dirname(path));
}
