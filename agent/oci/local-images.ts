/**
 * The images bosun builds from the host's own static binaries: the pause image every pod sandbox
 * needs (so a node runs pods with no registry at all), and a small busybox image for trying things
 * out and for tests.
 */
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { buildImageArchive, type ImageArchive } from './image-archive.ts';
import type { TarEntry } from './tar.ts';

export const pauseImageReference = 'localhost/bosun/pause:3.10';
export const busyboxImageReference = 'localhost/bosun/busybox:1.35';

const catatonitPath = '/usr/bin/catatonit';
const busyboxPath = '/bin/busybox';

function readHostBinary(path: string, debianPackage: string): Buffer {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install the Debian package ${debianPackage} (apt-get install ${debianPackage})`,
    );
  }
  return readFileSync(path);
}

/**
 * The pause image: Debian's static catatonit as /pause, run as `/pause -P` (its pause mode: stay
 * PID 1, reap children, exit on SIGTERM/SIGINT).
 */
export function buildPauseImage(reference = pauseImageReference): ImageArchive {
  return buildImageArchive({
    reference,
    files: [{ kind: 'file', path: 'pause', data: readHostBinary(catatonitPath, 'catatonit'), mode: 0o755 }],
    entrypoint: ['/pause', '-P'],
    user: '65535:65535',
  });
}

/** Applets linked into the busybox image (the static busybox provides them all). */
function busyboxApplets(): string[] {
  const out = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => /^[a-z0-9_.[-]+$/.test(name) && name !== 'busybox')
    .sort();
}

/**
 * A busybox image: /bin/busybox with a link per applet (sh, httpd, wget, nc, nslookup, sleep, cat,
 * ...), /www/index.html for `httpd -f -p 8080 -h /www`, and the usual /etc files.
 */
export function buildBusyboxImage(reference = busyboxImageReference): ImageArchive {
  const binary = readHostBinary(busyboxPath, 'busybox-static');
  const files: TarEntry[] = [
    { kind: 'dir', path: 'bin' },
    { kind: 'file', path: 'bin/busybox', data: binary, mode: 0o755 },
    ...busyboxApplets().map((name): TarEntry => ({ kind: 'symlink', path: `bin/${name}`, target: 'busybox' })),
    { kind: 'dir', path: 'etc' },
    {
      kind: 'file',
      path: 'etc/passwd',
      data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    },
    { kind: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { kind: 'dir', path: 'root', mode: 0o700 },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'dir', path: 'www' },
    { kind: 'file', path: 'www/index.html', data: Buffer.from('hello from bosun busybox\n') },
  ];
  return buildImageArchive({
    reference,
    files,
    cmd: ['sh'],
    env: ['PATH=/bin'],
  });
}
