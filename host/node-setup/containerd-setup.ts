/**
 * What `bosun node-setup` does for install.sh on a real host: containerd's configuration written
 * by the same renderer the sandbox uses, the locally built images imported, and containerd started
 * detached (and stopped) by a PID file where no systemd runs it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildBusyboxImage, buildPauseImage, pauseImageReference } from '../../agent/oci/local-images.ts';
import { isOurs, stopDaemon } from '../process/process.ts';
import { importImage, renderContainerdConfig, startContainerd } from './containerd.ts';

function writeAtomically(path: string, text: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

export interface HostContainerdPaths {
  config: string;
  root: string;
  state: string;
  socket: string;
  cniConfDir: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
}

/** Writes containerd's configuration for bosun and makes the folders it names. */
export function writeHostContainerdConfig(paths: HostContainerdPaths): void {
  const confDir = dirname(paths.config);
  const text = renderContainerdConfig({
    layout: {
      dir: confDir,
      root: paths.root,
      state: paths.state,
      socket: paths.socket,
      config: paths.config,
      cniConfDir: paths.cniConfDir,
      cniDataDir: '',
      registryConfigDir: join(confDir, 'certs.d'),
      log: '',
    },
    sandboxImage: pauseImageReference,
    cgroupDriver: paths.cgroupDriver,
  });
  for (const dir of [paths.root, paths.state, paths.cniConfDir, join(confDir, 'certs.d')])
    mkdirSync(dir, { recursive: true });
  writeAtomically(paths.config, text);
}

/** Builds pause (and busybox, where busybox-static is installed), keeps each archive in `cacheDir`, imports it. */
export async function importLocalImages(socket: string, cacheDir: string): Promise<void> {
  // pause is what every pod needs; busybox (for trying things out) only where busybox-static is installed
  const builds = [buildPauseImage, ...(existsSync('/bin/busybox') ? [buildBusyboxImage] : [])];
  mkdirSync(cacheDir, { recursive: true });
  for (const build of builds) {
    const image = build();
    const archive = join(cacheDir, `${image.manifestDigest.slice('sha256:'.length)}.tar`);
    if (!existsSync(archive)) writeAtomically(archive, image.archive);
    await importImage({ socket }, archive);
  }
}

export interface DetachedContainerd {
  config: string;
  socket: string;
  log: string;
  pidFile: string;
}

/** Starts containerd detached unless the PID file names one that runs with this config; waits until it answers. */
export async function startDetachedContainerd(
  d: DetachedContainerd,
): Promise<{ pid: number; alreadyRunning: boolean }> {
  const known = existsSync(d.pidFile) ? Number(readFileSync(d.pidFile, 'utf8').trim()) : 0;
  if (known > 0 && isOurs(known, d.config)) return { pid: known, alreadyRunning: true };
  mkdirSync(dirname(d.log), { recursive: true });
  mkdirSync(dirname(d.pidFile), { recursive: true });
  const pid = await startContainerd(undefined, { config: d.config, socket: d.socket, log: d.log });
  writeAtomically(d.pidFile, `${pid}\n`);
  return { pid, alreadyRunning: false };
}

/** Stops the containerd that startDetachedContainerd started, if its PID file is there. */
export async function stopDetachedContainerd(config: string, pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  await stopDaemon(Number(readFileSync(pidFile, 'utf8').trim()), config, 15_000);
  rmSync(pidFile, { force: true });
}
