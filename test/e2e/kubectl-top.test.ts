/**
 * `kubectl top` on a real sandbox node: its agent's /metrics/resource (CRI stats of real containers
 * and the host's /proc) scraped by bosun server over the kubelet port, every 10 s here. A busybox
 * pod spinning on a CPU (bounded by `timeout`) and one that sleeps; every kubectl release the tests
 * know (1.27 ... 1.35) sees the node, both pods with their containers across all namespaces, and
 * the spinner first when sorted by CPU.
 */
import test from 'ava';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

let sandbox: Sandbox | undefined;
let kubeconfig = '';

const kubectl = (args: string[], input?: string, binary?: string) =>
  kubectlOk({ kubeconfig, binary, input, timeoutMs: 90_000 }, args);

const pod = (name: string, container: string, command: string[]) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: top, labels: {app: ${name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: ${container}
      image: ${sandboxImages.busybox}
      command: ${JSON.stringify(command)}
`;

const pods = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: top}\n',
  // a bounded load: it stops by itself after five minutes
  pod('spinner', 'spin', ['timeout', '300', 'sh', '-c', 'while :; do :; done']),
  pod('sleeper', 'nap', ['sleep', '3600']),
].join('');

/** kubectl's table as rows of cells. */
const rows = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.trim().split(/\s+/));

/** "250m" or "1" (cores) as millicores. */
const millicores = (text: string) => (text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000);

test.before(async (t) => {
  sandbox = await createTestSandbox('btp', 1);
  kubeconfig = (await sandbox.startControlPlane(['--metric-resolution', '10s'])).kubeconfig;
  await sandbox.joinAgents();
  await waitFor(async () => / Ready /.test(await kubectl(['get', 'node', 'node-1', '--no-headers'])), {
    what: 'node-1 Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  await kubectl(['apply', '-f', '-'], pods);
  const applied = Date.now();
  await waitFor(
    async () => {
      const result = await runKubectl({ kubeconfig }, ['top', 'pods', '-n', 'top', '--no-headers']);
      return result.code === 0 && rows(result.stdout).length === 2;
    },
    { what: 'both pods in kubectl top', timeoutMs: 120_000, intervalMs: 1_000 },
  );
  t.log(`pods in kubectl top ${((Date.now() - applied) / 1000).toFixed(1)} s after they were created`);
});

test.after.always(async () => {
  await sandbox?.destroy();
});

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} top nodes, top pods -A --containers, --sort-by on a real node`, async (t) => {
    const nodes = rows(await kubectl(['top', 'nodes', '--no-headers'], undefined, binary));
    t.is(nodes.length, 1);
    t.is(nodes[0]![0], 'node-1');
    t.true(millicores(nodes[0]![1]!) > 0, nodes[0]!.join(' '));
    t.regex(nodes[0]![3]!, /^\d+Mi$/);

    const all = rows(await kubectl(['top', 'pods', '-A', '--containers', '--no-headers'], undefined, binary));
    const mine = all.filter((r) => r[0] === 'top').map((r) => `${r[1]}/${r[2]}`);
    t.deepEqual(mine.sort(), ['sleeper/nap', 'spinner/spin']);

    const byCpu = rows(await kubectl(['top', 'pods', '-n', 'top', '--sort-by=cpu', '--no-headers'], undefined, binary));
    t.deepEqual(
      byCpu.map((r) => r[0]),
      ['spinner', 'sleeper'],
    );
    // the spinner keeps a core busy, shared with everything else on this machine
    t.true(millicores(byCpu[0]![1]!) >= 100, byCpu[0]!.join(' '));
    t.log(`node ${nodes[0]!.join(' ')}; ${byCpu.map((r) => r.join(' ')).join('; ')}`);
    const byMemory = rows(
      await kubectl(['top', 'pods', '-n', 'top', '--sort-by=memory', '-l', 'app=sleeper'], undefined, binary),
    );
    t.deepEqual(byMemory[0]?.slice(0, 1), ['NAME']);
    t.is(byMemory[1]?.[0], 'sleeper');
  });
}
