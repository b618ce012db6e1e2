/**
 * A sandbox's images (pause, busybox), built from the host's static binaries and cached as OCI
 * archives by content, so they are built once per cache folder.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage, buildPauseImage } from '../agent/oci/local-images.ts';
import { sandboxImages, type SandboxImage } from './names.ts';

const built = new Map<string, Record<SandboxImage, string>>();

function store(cacheDir: string, name: string, archive: Buffer, digest: string): string {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `${name}-${digest.slice('sha256:'.length, 'sha256:'.length + 16)}.tar`);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, archive);
    renameSync(tmp, path); // parallel test processes may race; rename is atomic
  }
  return path;
}

/** Paths of the image archives in `cacheDir`, built on first use in this process. */
export function ensureImageArchives(cacheDir: string): Record<SandboxImage, string> {
  const known = built.get(cacheDir);
  if (known) return known;
  const pause = buildPauseImage(sandboxImages.pause);
  const busybox = buildBusyboxImage(sandboxImages.busybox);
  const paths = {
    pause: store(cacheDir, 'pause', pause.archive, pause.manifestDigest),
    busybox: store(cacheDir, 'busybox', busybox.archive, busybox.manifestDigest),
  };
  built.set(cacheDir, paths);
  return paths;
}
