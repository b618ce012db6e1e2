/**
 * `kubectl top` of every release the tests know (1.27 ... 1.35) against the metrics.k8s.io API that
 * bosun server serves from its kubelets (stand-ins here; test/e2e/kubectl-top.test.ts has real
 * agents): nodes with their share of allocatable, pods in a namespace and across all with their
 * containers, sorted by CPU and by memory, one pod by name, and the API in `kubectl api-resources`.
 */
import test from 'ava';
import { adminKubectl } from '../admin-calls.ts';
import { sharedInProcess } from '../in-process.ts';
import { installedKubectlReleases } from '../kubectl-releases.ts';
import { metricsCluster } from './metrics-cluster.ts';

const shared = sharedInProcess(test, { metricResolutionMs: 2_500 });
const cluster = metricsCluster(test, shared);
const kubectl = adminKubectl(shared);

/** The table kubectl printed, as rows of cells. */
const rows = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));

for (const { release, binary } of installedKubectlReleases()) {
  test(`kubectl ${release} top nodes, top pods -A --containers, --sort-by, and api-resources`, async (t) => {
    await cluster.ready();
    const run = async (...args: string[]) => {
      const result = await kubectl(binary, ...args);
      t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
      return rows(result.stdout);
    };
    const nodes = await run('top', 'nodes', '--sort-by=cpu');
    // newer releases write CPU(%) where older ones write CPU%
    t.deepEqual(nodes[0]!.slice(0, 2), ['NAME', 'CPU(cores)']);
    t.deepEqual(
      nodes.slice(1).map((r) => r[0]),
      ['node-b', 'node-a'],
    );
    // node-a: half a core of 4 allocatable, 2Gi of 8Gi
    const a = nodes.find((r) => r[0] === 'node-a')!;
    t.regex(a[1]!, /^(49\d|50\d)m$/);
    t.regex(a[2]!, /^1[23]%$/);
    t.is(a[3], '2048Mi');
    t.is(a[4], '25%');
    const east = await run('top', 'nodes', '-l', 'zone=east', '--no-headers');
    t.deepEqual(
      east.map((r) => r[0]),
      ['node-a'],
    );

    const all = await run('top', 'pods', '-A', '--containers');
    t.deepEqual(all[0], ['NAMESPACE', 'POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    t.deepEqual(
      all
        .slice(1)
        .map((r) => `${r[0]}/${r[1]}/${r[2]}`)
        .sort(),
      ['office/desk/main', 'shop/db/db', 'shop/web/app', 'shop/web/sidecar'],
    );
    t.is(all.find((r) => r[2] === 'sidecar')?.[4], '16Mi');
    const byMemory = await run('top', 'pods', '-A', '--sort-by=memory', '--no-headers');
    t.deepEqual(
      byMemory.map((r) => r[1]),
      ['db', 'web', 'desk'],
    );
    const byCpu = await run('top', 'pods', '-n', 'shop', '--sort-by=cpu', '--no-headers');
    t.deepEqual(
      byCpu.map((r) => r[0]),
      ['db', 'web'],
    );
    const web = await run('top', 'pod', 'web', '-n', 'shop', '--no-headers');
    t.is(web[0]![0], 'web');
    t.is(web[0]![2], '80Mi');

    const resources = await run('api-resources', '--api-group=metrics.k8s.io', '--no-headers');
    t.deepEqual(resources.map((r) => r.join(' ')).sort(), [
      'nodes metrics.k8s.io/v1beta1 false NodeMetrics',
      'pods metrics.k8s.io/v1beta1 true PodMetrics',
    ]);
  });
}

test('kubectl top of a pod no kubelet measures says so as upstream does', async (t) => {
  await cluster.ready();
  const binary = installedKubectlReleases(['1.32'])[0]?.binary ?? 'kubectl';
  const result = await kubectl(binary, 'top', 'pod', 'quiet', '-n', 'shop');
  t.not(result.code, 0);
  t.regex(result.stderr, /podmetrics.metrics.k8s.io "shop\/quiet" not found/);
});
