/**
 * Cluster DNS from inside pods, on real nodes: `bosun server` (which creates kube-system/kube-dns at
 * 10.96.0.10) and two sandbox nodes whose agents serve DNS (--cluster-dns-serve) and route the
 * cluster DNS address to themselves. A busybox pod on each node resolves a Service to its
 * ClusterIP and a headless Service to its ready pods' IPs, through its resolv.conf (10.96.0.10).
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../cli/sandbox/run.ts';
import { bedImages } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';

const cluster = useSandboxCluster({ idPrefix: 'bsd', nodes: 2, agentArgs: ['--cluster-dns-serve', 'true'], kubectlTimeoutMs: 120_000 });
const kubectl = cluster.kubectl;

async function apply(objects: unknown[]): Promise<void> {
  // --validate=false: through the sandbox's control plane, kubectl's validation of a List ends in
  // "unable to respond with a content type that the client supports" (406); not this test's subject.
  const result = await run(['kubectl', '--kubeconfig', cluster.kubeconfig(), 'apply', '--validate=false', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }), timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`kubectl apply: ${result.stderr.trim()}`);
}

/**
 * A pod's container output, read from the node's log folder (<ns>_<pod>_<uid>/<container>/N.log)
 * rather than through kubectl logs: this test is about DNS, not the kubelet port.
 */
function podLog(podLogDir: string, pod: string): string {
  const dir = readdirSync(podLogDir).find((d) => d.startsWith(`default_${pod}_`));
  if (dir === undefined) return '';
  const container = join(podLogDir, dir, 'lookup');
  if (!existsSync(container)) return '';
  return readdirSync(container).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(container, f), 'utf8')).join('');
}

const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

test('nslookup inside pods on both nodes: a Service gives its ClusterIP, a headless one its pods', async (t) => {
  t.timeout(300_000, 'pods start, resolve and report on two real nodes');
  await waitFor(async () => (await kubectl('get', 'nodes', '--no-headers')).split('\n').filter((l) => / Ready /.test(l)).length === 2, {
    what: 'both nodes Ready',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  t.is(await kubectl('get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'jsonpath={.spec.clusterIP}'), '10.96.0.10', 'the server made kube-dns at the cluster DNS address');
  // Hard rule: nothing goes to a service address unless the node routes the service CIDR into the sink.
  for (const node of cluster.sandbox().nodes) {
    const route = await node.run(['ip', 'route', 'get', '10.96.0.10']);
    t.regex(route.stdout, /dev sink0/, `${node.name} routes 10.96.0.10 into the sink: ${route.stdout}`);
  }

  const template = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'app', image: bedImages.busybox, command: ['sh', '-c', sleeper], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }],
    },
  });
  await apply([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template('web') } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: { app: 'db' } }, template: template('db') } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } },
  ]);
  const clusterIP = await kubectl('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}');
  const dbIPs = await waitFor(async () => {
    const ips = (await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name=db', '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}')).split(' ').filter(Boolean);
    return ips.length === 2 ? ips.sort() : undefined;
  }, { what: 'the headless Service db with two ready endpoints', timeoutMs: 120_000, intervalMs: 1_000 });

  // Bounded: 15 rounds of two lookups, then the pod idles.
  const lookups = 'for i in $(seq 1 15); do nslookup web.default.svc.cluster.local; nslookup db.default.svc.cluster.local; sleep 2; done; echo DONE; sleep 3600';
  await apply(
    cluster.sandbox().nodes.map((node) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `lookup-${node.name}`, namespace: 'default' },
      spec: { nodeName: node.name, restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'lookup', image: bedImages.busybox, command: ['sh', '-c', lookups] }] },
    })),
  );
  for (const node of cluster.sandbox().nodes) {
    let last = '';
    const logs = await waitFor(async () => {
      last = podLog(node.podLogDir, `lookup-${node.name}`);
      return last.includes(`Address: ${clusterIP}`) && dbIPs.every((ip) => last.includes(`Address: ${ip}`)) ? last : undefined;
    }, { what: `lookup-${node.name} resolving web to ${clusterIP} and db to ${dbIPs.join(', ')}`, timeoutMs: 120_000, intervalMs: 1_000 }).catch(async (err: Error) => {
      const rules = (await node.run(['iptables-save', '-t', 'nat'])).stdout.split('\n').filter((l) => l.includes('10.96.0.10') || l.includes('kube-dns'));
      throw new Error(`${err.message}\nlast logs:\n${last.slice(-1500)}\nnat rules for kube-dns:\n${rules.join('\n')}`);
    });
    t.regex(logs, /Server:\s+10\.96\.0\.10/, 'the pod asked the cluster DNS address from its resolv.conf');
  }
  await kubectl('delete', 'pod', ...cluster.sandbox().nodes.map((n) => `lookup-${n.name}`), '--timeout=60s');
});
