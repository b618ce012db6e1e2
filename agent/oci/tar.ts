/**
 * A minimal, deterministic ustar writer: enough for OCI image layers and OCI layout archives.
 * Deterministic (fixed mtime, uid/gid 0, sorted input left to the caller) so that the same inputs
 * always give the same digest, and an image is imported once, not once per build.
 */

export type TarEntry =
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'symlink'; path: string; target: string };

const blockSize = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // ustar: a prefix of up to 155 bytes, split at a slash
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(blockSize);
  const path = entry.kind === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const { name, prefix } = splitName(path);
  const defaultMode = entry.kind === 'file' ? 0o644 : entry.kind === 'dir' ? 0o755 : 0o777;
  const mode = entry.kind === 'symlink' ? 0o777 : (entry.mode ?? defaultMode);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii'); // uid
  block.write(octal(0, 8), 116, 8, 'ascii'); // gid
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(0, 12), 136, 12, 'ascii'); // mtime: the epoch, for reproducible digests
  block.write('        ', 148, 8, 'ascii'); // checksum placeholder (spaces while summing)
  block.write(entry.kind === 'file' ? '0' : entry.kind === 'dir' ? '5' : '2', 156, 1, 'ascii');
  if (entry.kind === 'symlink') block.write(entry.target, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return block;
}

/** Builds a tar archive (with the two zero blocks that end it) from the entries, in order. */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.kind === 'symlink' && Buffer.byteLength(entry.target) > 100) {
      throw new Error(`tar: symlink target too long: ${entry.target}`);
    }
    const data = entry.kind === 'file' ? entry.data : Buffer.alloc(0);
    parts.push(header(entry, data.length));
    if (data.length > 0) {
      parts.push(data);
      const pad = (blockSize - (data.length % blockSize)) % blockSize;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(blockSize * 2));
  return Buffer.concat(parts);
}
