/**
 * `kubectl get --chunk-size=2` over 7 objects while another client keeps writing: the pages of one
 * listing must show one state of the collection, as upstream's apiserver serves them. The writer
 * slides a window of 7 ConfigMaps: each step deletes the lowest and then creates the next name,
 * so every state holds 7 (or, between the two writes, 6) consecutive names. A listing whose pages
 * read different states shows more than 7, or a gap.
 */
import test from 'ava';
import { kubectl } from '../kubectl-scenario.ts';
import { kubectlReleaseBinaries } from '../kubectl-releases.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../server-process.ts';

let server: ServerProcess | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

const windowSize = 7;
const nameOf = (n: number) => `cm-${String(n).padStart(4, '0')}`;

async function expectStatus(method: string, path: string, status: number, body?: unknown): Promise<void> {
  const reply = await call(server!, method, path, adminIdentity(server!.dataDir), body);
  if (reply.status !== status)
    throw new Error(`${method} ${path}: expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
}

/** Slides the window until `stop()` says so; resolves to the number of steps taken. */
async function slide(namespace: string, first: number, stop: () => boolean): Promise<number> {
  let low = first;
  while (!stop() && low < first + 2000) {
    await expectStatus('DELETE', `/api/v1/namespaces/${namespace}/configmaps/${nameOf(low)}`, 200);
    await expectStatus('POST', `/api/v1/namespaces/${namespace}/configmaps`, 201, {
      metadata: { name: nameOf(low + windowSize) },
    });
    low++;
  }
  return low - first;
}

/** Whether the names are one state of the window: 6 or 7 consecutive numbers, each once. */
function oneState(names: readonly string[]): boolean {
  const numbers = names.map((n) => Number(n.replace(/^configmap\/cm-/, '')));
  if (numbers.length < windowSize - 1 || numbers.length > windowSize) return false;
  return numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1);
}

const releases = [
  { release: 'machine', binary: 'kubectl', installed: true, missing: undefined as string | undefined },
  ...kubectlReleaseBinaries().filter((r) => r.release === '1.34' || r.release === '1.35'),
];
for (const { release, binary, installed, missing } of releases) {
  if (!installed) {
    test.skip(`kubectl ${release}: ${missing}`, () => undefined);
    continue;
  }
  test(`kubectl ${release}: get --chunk-size=2 shows one state while the collection changes`, async (t) => {
    const namespace = `chunked-${release.replace('.', '-')}`;
    await expectStatus('POST', '/api/v1/namespaces', 201, { metadata: { name: namespace } });
    for (let n = 0; n < windowSize; n++)
      await expectStatus('POST', `/api/v1/namespaces/${namespace}/configmaps`, 201, { metadata: { name: nameOf(n) } });
    let listing = true;
    const writer = slide(namespace, 0, () => !listing);
    try {
      // several listings, each racing the writer; every one must be a single state
      for (let round = 0; round < 8; round++) {
        const got = await kubectl(
          server!,
          ['get', 'configmaps', '-n', namespace, '--chunk-size=2', '-o', 'name'],
          undefined,
          {},
          binary,
        );
        t.is(got.code, 0, got.stderr);
        // the namespace's own kube-root-ca.crt is not part of the window
        const names = got.stdout
          .trim()
          .split('\n')
          .filter((n) => n.startsWith('configmap/cm-'));
        t.true(oneState(names), `round ${round}: ${names.join(' ')}`);
      }
    } finally {
      listing = false;
    }
    t.true((await writer) > 0, 'the writer wrote while kubectl listed');
  });
}
