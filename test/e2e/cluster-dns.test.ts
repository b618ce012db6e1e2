/**
 * Cluster DNS from inside pods, on real nodes: `bosun server` (which creates kube-system/kube-dns at
 * 10.96.0.10) and two sandbox nodes whose agents serve DNS by default (no flag) and route the
 * cluster DNS address to themselves. A busybox pod on each node resolves a Service to its
 * ClusterIP and a headless Service to its ready pods' IPs, through its resolv.conf (10.96.0.10).
 * A pod on the node without the Services' pods resolves every name form of the DNS schema with
 * busybox nslookup and fetches a Service by its short name with wget; names outside the cluster
 * go to the resolver of the agents' --resolv-conf, a stand-in this test runs in the sandbox's hub
 * namespace (nothing leaves the machine), which sees a missing name once (negative caching).
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { bedImages, createTestSandbox } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { AgentProcess } from '../agent/agent-process.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { sandboxAddresses } from '../../sandbox/names.ts';
import { inNetns } from '../../host/process/process.ts';
import { kubectlOk } from '../bed/kubectl.ts';

let sandbox: Sandbox | undefined;
const agents: AgentProcess[] = [];
let kubeconfig = '';
let upstream: ChildProcess | undefined;
let upstreamLog = '';

test.before(async () => {
  sandbox = await createTestSandbox('bsd', 2);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  // the node's "host resolvers": a stand-in in the hub namespace, which every node reaches
  const [command, ...args] = inNetns(sandbox.hubNetns, [
    process.execPath,
    join(import.meta.dirname, 'upstream-resolver.ts'),
    sandboxAddresses.hubIP,
    '53',
  ]);
  upstream = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  upstream.stdout!.on('data', (chunk: Buffer) => (upstreamLog += chunk.toString()));
  upstream.stderr!.on('data', (chunk: Buffer) => (upstreamLog += chunk.toString()));
  await waitFor(async () => upstreamLog.includes('LISTENING'), {
    what: 'the stand-in upstream resolver',
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  const resolvConf = join(sandbox.stateDir, 'host-resolv.conf');
  writeFileSync(resolvConf, `nameserver ${sandboxAddresses.hubIP}\n`);
  for (const node of sandbox.nodes) {
    // no --cluster-dns-serve: cluster DNS is on by default
    const agent = new AgentProcess(node, plane.nodeKubeconfig, ['--resolv-conf', resolvConf]);
    agents.push(agent);
    agent.start();
  }
  await Promise.all(agents.map((a) => a.ready()));
});

test.after.always(async () => {
  if (upstream?.pid !== undefined && upstream.exitCode === null) upstream.kill('SIGTERM');
  for (const agent of agents) {
    if (agent.running) await agent.stop(5_000);
    agent.close();
  }
  await sandbox?.destroy();
});

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 120_000 }, args);
}

async function apply(objects: unknown[]): Promise<void> {
  // --validate=false: through the sandbox's control plane, kubectl's validation of a List ends in
  // "unable to respond with a content type that the client supports" (406); not this test's subject.
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  await kubectlOk({ kubeconfig, input }, ['apply', '--validate=false', '-f', '-']);
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
  return readdirSync(container)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(join(container, f), 'utf8'))
    .join('');
}

/** Hard rule: nothing goes to a service address unless the node routes the service CIDR into the sink. */
async function assertServiceCIDRSunk(t: ExecutionContext): Promise<void> {
  for (const node of sandbox!.nodes) {
    const route = await node.run(['ip', 'route', 'get', '10.96.0.10']);
    t.regex(route.stdout, /dev sink0/, `${node.name} routes 10.96.0.10 into the sink: ${route.stdout}`);
  }
}

const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

test('nslookup inside pods on both nodes: a Service gives its ClusterIP, a headless one its pods', async (t) => {
  t.timeout(300_000, 'pods start, resolve and report on two real nodes');
  await waitFor(
    async () =>
      (await kubectl('get', 'nodes', '--no-headers')).split('\n').filter((l) => / Ready /.test(l)).length === 2,
    {
      what: 'both nodes Ready',
      timeoutMs: 60_000,
      intervalMs: 500,
    },
  );
  t.is(
    await kubectl('get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'jsonpath={.spec.clusterIP}'),
    '10.96.0.10',
    'the server made kube-dns at the cluster DNS address',
  );
  await assertServiceCIDRSunk(t);

  const template = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', sleeper],
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        },
      ],
    },
  });
  await apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template('web') },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'db' } }, template: template('db') },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'default' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] },
    },
  ]);
  const clusterIP = await kubectl('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}');
  const dbIPs = await waitFor(
    async () => {
      const ips = (
        await kubectl(
          'get',
          'endpointslices',
          '-l',
          'kubernetes.io/service-name=db',
          '-o',
          'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}',
        )
      )
        .split(' ')
        .filter(Boolean);
      return ips.length === 2 ? ips.sort() : undefined;
    },
    { what: 'the headless Service db with two ready endpoints', timeoutMs: 120_000, intervalMs: 1_000 },
  );

  // Bounded: 15 rounds of two lookups, then the pod idles.
  const lookups =
    'for i in $(seq 1 15); do nslookup web.default.svc.cluster.local; nslookup db.default.svc.cluster.local; sleep 2; done; echo DONE; sleep 3600';
  await apply(
    sandbox!.nodes.map((node) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `lookup-${node.name}`, namespace: 'default' },
      spec: {
        nodeName: node.name,
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'lookup', image: bedImages.busybox, command: ['sh', '-c', lookups] }],
      },
    })),
  );
  for (const node of sandbox!.nodes) {
    let last = '';
    const logs = await waitFor(
      async () => {
        last = podLog(node.podLogDir, `lookup-${node.name}`);
        return last.includes(`Address: ${clusterIP}`) && dbIPs.every((ip) => last.includes(`Address: ${ip}`))
          ? last
          : undefined;
      },
      {
        what: `lookup-${node.name} resolving web to ${clusterIP} and db to ${dbIPs.join(', ')}`,
        timeoutMs: 120_000,
        intervalMs: 1_000,
      },
    ).catch(async (err: Error) => {
      const rules = (await node.run(['iptables-save', '-t', 'nat'])).stdout
        .split('\n')
        .filter((l) => l.includes('10.96.0.10') || l.includes('kube-dns'));
      throw new Error(`${err.message}\nlast logs:\n${last.slice(-1500)}\nnat rules for kube-dns:\n${rules.join('\n')}`);
    });
    t.regex(logs, /Server:\s+10\.96\.0\.10/, 'the pod asked the cluster DNS address from its resolv.conf');
  }
  await kubectl('delete', 'pod', ...sandbox!.nodes.map((n) => `lookup-${n.name}`), '--timeout=60s');
});

/** The sections of a lookup pod's last complete round: `== <label>` up to the next marker. */
function lastRound(criLog: string): Map<string, string> | undefined {
  // the node keeps container output in the CRI log format: "<time> stdout F <line>"
  const log = criLog.replace(/^\S+ (stdout|stderr) [FP] /gm, '');
  const rounds = log.split('== ROUND\n');
  const complete = rounds.slice(0, -1).filter((r) => r.includes('== END'));
  const round = complete.at(-1);
  if (round === undefined) return undefined;
  const sections = new Map<string, string>();
  for (const part of round.split('== ').slice(1)) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline), part.slice(newline + 1));
  }
  return sections;
}

test.serial(
  "every name form resolves from a pod on the node without the Services' pods; other names are forwarded",
  async (t) => {
    t.timeout(300_000, 'pods start, resolve and report on two real nodes');
    const home = sandbox!.nodes[0]!;
    const away = sandbox!.nodes[1]!;
    await waitFor(
      async () =>
        (await kubectl('get', 'nodes', '--no-headers')).split('\n').filter((l) => / Ready /.test(l)).length === 2,
      { what: 'both nodes Ready', timeoutMs: 60_000, intervalMs: 500 },
    );
    await assertServiceCIDRSunk(t);
    const pinned = (app: string, command: string) => ({
      metadata: { labels: { app } },
      spec: {
        nodeName: home.name,
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'app',
            image: bedImages.busybox,
            command: ['sh', '-c', command],
            readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
          },
        ],
      },
    });
    await apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'site', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'site' } },
          template: pinned('site', 'exec httpd -f -p 8080 -h /www'),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'site', namespace: 'default' },
        spec: { selector: { app: 'site' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'peers', namespace: 'default' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'peers' } }, template: pinned('peers', sleeper) },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'peers', namespace: 'default' },
        spec: { clusterIP: 'None', selector: { app: 'peers' }, ports: [{ name: 'pg', port: 5432 }] },
      },
    ]);
    const clusterIP = await kubectl('get', 'service', 'site', '-o', 'jsonpath={.spec.clusterIP}');
    const readyIPs = (service: string, count: number) =>
      waitFor(
        async () => {
          const ips = (
            await kubectl(
              'get',
              'endpointslices',
              '-l',
              `kubernetes.io/service-name=${service}`,
              '-o',
              'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}',
            )
          )
            .split(' ')
            .filter(Boolean);
          return ips.length === count ? ips.sort() : undefined;
        },
        { what: `${service} with ${count} ready endpoints`, timeoutMs: 120_000, intervalMs: 1_000 },
      );
    const [siteIP] = await readyIPs('site', 1);
    const peerIPs = await readyIPs('peers', 2);
    const dashed = `${siteIP!.replaceAll('.', '-')}.default.pod.cluster.local`;
    const forms: [string, string][] = [
      ['full', 'nslookup site.default.svc.cluster.local'],
      // busybox nslookup tries the search path for dotless names only; wget's resolver follows ndots:5
      ['namespace', 'wget -q -O - http://site.default/'],
      ['short', 'nslookup site'],
      ['headless', 'nslookup peers.default.svc.cluster.local'],
      ['pod', `nslookup ${dashed}`],
      ['srv', 'nslookup -type=SRV _http._tcp.site.default.svc.cluster.local'],
      ['ptr', `nslookup ${clusterIP}`],
      ['outside', 'nslookup outside.example.test'],
      ['missing', 'nslookup missing.example.test; nslookup missing.example.test'],
      ['wget', 'wget -q -O - http://site/'],
    ];
    // Bounded: 20 rounds, then the pod idles.
    const round = forms.map(([label, command]) => `echo "== ${label}"; ${command} 2>&1`).join('; ');
    const script = `for i in $(seq 1 20); do ${round}; echo "== END"; echo "== ROUND"; sleep 3; done; sleep 3600`;
    const lookup = `forms-${away.name}`;
    await apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: lookup, namespace: 'default' },
        spec: {
          nodeName: away.name,
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'lookup', image: bedImages.busybox, command: ['sh', '-c', script] }],
        },
      },
    ]);
    const expectations: [string, RegExp][] = [
      ['full', new RegExp(`Address: ${clusterIP}`)],
      ['namespace', /hello from bosun busybox/],
      ['short', new RegExp(`Name:\\s+site\\.default\\.svc\\.cluster\\.local\\s+Address: ${clusterIP}`)],
      ['pod', new RegExp(`Address: ${siteIP!.replaceAll('.', '\\.')}`)],
      ['srv', /site\.default\.svc\.cluster\.local\s+service = 0 100 80 site\.default\.svc\.cluster\.local/],
      ['ptr', /name = site\.default\.svc\.cluster\.local/],
      ['outside', /Address: 192\.0\.2\.99/],
      ['missing', /NXDOMAIN/],
      ['wget', /hello from bosun busybox/],
    ];
    let sections: Map<string, string> | undefined;
    await waitFor(
      async () => {
        sections = lastRound(podLog(away.podLogDir, lookup));
        return (
          sections !== undefined &&
          expectations.every(([label, pattern]) => pattern.test(sections!.get(label) ?? '')) &&
          peerIPs.every((ip) => (sections!.get('headless') ?? '').includes(`Address: ${ip}`))
        );
      },
      { what: `${lookup} resolving every form`, timeoutMs: 150_000, intervalMs: 1_000 },
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nlast round:\n${[...(sections ?? new Map<string, string>())]
          .map(([k, v]) => `== ${k}\n${v}`)
          .join('')
          .slice(-4000)}`,
      );
    });
    for (const [label, pattern] of expectations) t.regex(sections!.get(label)!, pattern, label);
    for (const ip of peerIPs) t.true(sections!.get('headless')!.includes(`Address: ${ip}`), `headless answers ${ip}`);
    // the stand-in saw the forwarded names; the missing one once per cache lifetime, not once per ask
    t.regex(upstreamLog, /QUERY outside\.example\.test A/);
    const missingAsked = upstreamLog.split('\n').filter((l) => l === 'QUERY missing.example.test A').length;
    t.true(
      missingAsked >= 1 && missingAsked < 10,
      `missing.example.test reached the upstream ${missingAsked} times for 2 asks per round`,
    );
    t.notRegex(upstreamLog, /QUERY \S*cluster\.local/, 'cluster names are never forwarded');
    await kubectl('delete', 'pod', lookup, '--timeout=60s');
  },
);
