/**
 * The bed's images (pause, busybox), built from the host's static binaries and cached as OCI
 * archives by content, so a test run builds them once.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage, buildPauseImage } from '../../agent/oci/local-images.ts';
import { bedImages } from './api.ts';

const cacheDir = join(import.meta.dirname, '..', '..', '.cache', 'images');
let cached: Record<'pause' | 'busybox', string> | undefined;

function store(name: string, archive: Buffer, digest: string): string {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `${name}-${digest.slice('sha256:'.length, 'sha256:'.length + 16)}.tar`);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, archive);
    renameSync(tmp, path); // parallel test processes may race; rename is atomic
  }
  return path;
}

/** Paths of the image archives, built on first use in this process. */
export function ensureImageArchives(): Record<'pause' | 'busybox', string> {
  if (cached) return cached;
  const pause = buildPauseImage(bedImages.pause);
  const busybox = buildBusyboxImage(bedImages.busybox);
  cached = {
    pause: store('pause', pause.archive, pause.manifestDigest),
    busybox: store('busybox', busybox.archive, busybox.manifestDigest),
  };
  return cached;
}
