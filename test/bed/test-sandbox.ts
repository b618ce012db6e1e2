/**
 * Real nodes for a test file: a sandbox whose nodes each run their own containerd in their own
 * network namespace, under /var/lib/bosun-test, owned by this test process (so the janitor removes
 * it if the process dies), with the locally built images imported from a cache shared by every run.
 * What runs on the nodes (a control plane, agents, `bosun join`) stays each test's own choice.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sandboxRoots, type SandboxImage } from '../../sandbox/names.ts';
import { Sandbox, type SandboxSpec } from '../../sandbox/sandbox.ts';

const imageCacheDir = join(import.meta.dirname, '..', '..', '.cache', 'images');

/** What a test may choose of the sandbox's spec; names, folders and ownership are the fixture's. */
type TestSandboxChoices = Partial<Omit<SandboxSpec, 'name' | 'id' | 'stateDir' | 'ownerPid' | 'imageCacheDir'>>;

/**
 * Creates the sandbox; `idPrefix` (three letters) names the test in namespace and interface names,
 * the process id in base 36 and a random suffix keep parallel runs apart and the names short.
 * The pause and busybox images are imported unless `choices.images` says otherwise.
 */
export function createTestSandbox(idPrefix: string, nodes: number, choices: TestSandboxChoices = {}): Promise<Sandbox> {
  const id = `${idPrefix}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const images: readonly SandboxImage[] = ['pause', 'busybox'];
  return Sandbox.create(
    { images, ...choices, name: id, id, stateDir: join(sandboxRoots.tests, id), ownerPid: process.pid, imageCacheDir },
    nodes,
  );
}
