/**
 * A sandbox owned by this process (a test file or a benchmark): a unique id from a short prefix,
 * its folder under the tests' root, the pause and busybox images from the shared cache.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxRoots, type SandboxTopology } from '../../sandbox/names.ts';

const imageCacheDir = join(import.meta.dirname, '..', '..', '.cache', 'images');

export function createTestSandbox(
  idPrefix: string,
  nodes: number,
  topology: SandboxTopology = 'flat',
): Promise<Sandbox> {
  // pid in base 36 + random: unique across parallel runs, short enough for interface names
  const id = `${idPrefix}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  return Sandbox.create(
    {
      name: id,
      id,
      stateDir: join(sandboxRoots.tests, id),
      ownerPid: process.pid,
      images: ['pause', 'busybox'],
      imageCacheDir,
      topology,
    },
    nodes,
  );
}
