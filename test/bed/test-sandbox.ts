/**
 * Real nodes for a test file: a sandbox whose nodes each run their own containerd in their own
 * network namespace, under /var/lib/bosun-test, owned by this test process (so the janitor removes
 * it if the process dies), with the locally built images imported from a cache shared by every run.
 * What runs on the nodes (a control plane, agents, `bosun join`) stays each test's own choice.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sandboxRoots, type SandboxImage } from '../../sandbox/names.ts';
import { Sandbox } from '../../sandbox/sandbox.ts';

const imageCacheDir = join(import.meta.dirname, '..', '..', '.cache', 'images');

/**
 * Creates the sandbox; `idPrefix` (three letters) names the test in namespace and interface names,
 * the process id in base 36 and a random suffix keep parallel runs apart and the names short.
 */
export function createTestSandbox(
  idPrefix: string,
  nodes: number,
  images: readonly SandboxImage[] = ['pause', 'busybox'],
): Promise<Sandbox> {
  const id = `${idPrefix}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  return Sandbox.create(
    { name: id, id, stateDir: join(sandboxRoots.tests, id), ownerPid: process.pid, images, imageCacheDir },
    nodes,
  );
}
