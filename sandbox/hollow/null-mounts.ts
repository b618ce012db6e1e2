/**
 * Volume mounts for a hollow node: a stateful fake that remembers which folders it "mounted" and
 * never calls mount(8). A hollow node's pods get their service-account token and other
 * memory-backed volumes written into ordinary folders; a thousand nodes with thirty pods each
 * would otherwise leave 30,000 tmpfs mounts on the benchmark's host.
 */
import type { HostMounts, MountEntry } from '../../agent/pods/volumes/host-mounts.ts';

export class NullMounts implements HostMounts {
  readonly #mounted = new Map<string, string>();

  /** Folders currently "mounted" (tests, and how many a fleet holds). */
  get count(): number {
    return this.#mounted.size;
  }

  async mountsUnder(dir: string): Promise<MountEntry[]> {
    return [...this.#mounted]
      .filter(([point]) => point === dir || point.startsWith(`${dir}/`))
      .map(([mountPoint, fsType]) => ({ mountPoint, fsType }));
  }

  async isMountPoint(dir: string, fsType?: string): Promise<boolean> {
    const mounted = this.#mounted.get(dir);
    return mounted !== undefined && (fsType === undefined || mounted === fsType);
  }

  async mountTmpfs(dir: string): Promise<void> {
    this.#mounted.set(dir, 'tmpfs');
  }

  async unmountAllUnder(dir: string): Promise<void> {
    for (const point of this.#mounted.keys()) {
      if (point === dir || point.startsWith(`${dir}/`)) this.#mounted.delete(point);
    }
  }
}
