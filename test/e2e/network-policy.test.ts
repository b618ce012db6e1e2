/**
 * NetworkPolicy enforced by the agents, with real traffic, in a two-node sandbox: namespaces x, y,
 * z with pods a, b, c each (a and c on node-1, b on node-2, so most probes cross nodes), every pod
 * serving HTTP on 80 and 81 (container ports named serve-80-tcp and serve-81-tcp). Each step applies
 * policies, waits for the rules, then every pod probes every pod with busybox wget (in parallel,
 * 2 s each) and the whole table must be the expected one. The cases are a bounded subset of
 * upstream's netpol conformance cases; test/agent/network-policy-matrix.test.ts carries all of them
 * against the compiler.
 */
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';
import { sandboxRoots } from '../../sandbox/names.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const name = `netpol${process.pid.toString(36)}`;
const scope = ['--name', name, '--root', sandboxRoots.tests];
const sandbox = (command: string, ...args: string[]) =>
  run([bosun, 'sandbox', command, ...scope, ...args], { timeoutMs: 300_000 });
let kubeconfig = '';
const kubectl = (...args: string[]) => run(['kubectl', '--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });
const apply = (object: unknown) =>
  run(['kubectl', '--kubeconfig', kubeconfig, 'apply', '-f', '-'], {
    input: JSON.stringify(object),
    timeoutMs: 60_000,
  });
const image = 'localhost/bosun/busybox:1.35';

const namespaces = ['x', 'y', 'z'] as const;
const podNames = ['a', 'b', 'c'] as const;
type PodId = `${(typeof namespaces)[number]}/${(typeof podNames)[number]}`;
const allPods = namespaces.flatMap((ns) => podNames.map((p) => `${ns}/${p}` as PodId));
const ips = new Map<PodId, string>();

test.after.always(async () => {
  await sandbox('down');
});

function serverPod(ns: string, pod: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod, namespace: ns, labels: { pod } },
    spec: {
      nodeName: pod === 'b' ? 'node-2' : 'node-1',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'serve',
          image,
          command: [
            'sh',
            '-c',
            'mkdir -p /www && echo "$HOSTNAME" > /www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec sleep 3600',
          ],
          ports: [
            { name: 'serve-80-tcp', containerPort: 80 },
            { name: 'serve-81-tcp', containerPort: 81 },
          ],
        },
      ],
    },
  };
}

const policy = (ns: string, policyName: string, spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: policyName, namespace: ns },
  spec,
});

/** Every source pod probes the targets on a port: one exec per source, its probes in parallel. */
async function probe(
  port: number,
  targets: readonly PodId[] = allPods,
  sources: readonly PodId[] = allPods,
): Promise<Map<string, boolean>> {
  const results = new Map<string, boolean>();
  await Promise.all(
    sources.map(async (from) => {
      const [ns, pod] = from.split('/') as [string, string];
      const script = targets
        .map(
          (to) =>
            `(if timeout 2 wget -q -O /dev/null http://${ips.get(to)}:${port}/ 2>/dev/null; then echo "${to} ok"; else echo "${to} no"; fi) &`,
        )
        .join('\n');
      const out = await kubectl('exec', '-n', ns, pod, '--', 'sh', '-c', `${script}\nwait`);
      for (const line of out.stdout.trim().split('\n')) {
        const [to, verdict] = line.split(' ');
        if (to && verdict) results.set(`${from}>${to}`, verdict === 'ok');
      }
    }),
  );
  return results;
}

/** Probes until the table is the expected one (rules reach both nodes within a sync), or reports the difference. */
async function expectTable(
  t: ExecutionContext,
  port: number,
  allowed: (from: PodId, to: PodId) => boolean,
  targets: readonly PodId[] = allPods,
  sources: readonly PodId[] = allPods,
): Promise<void> {
  let wrong: string[] = [];
  const until = Date.now() + 20_000;
  do {
    const got = await probe(port, targets, sources);
    wrong = [];
    for (const from of sources)
      for (const to of targets) {
        const want = from === to || allowed(from, to);
        if (got.get(`${from}>${to}`) !== want)
          wrong.push(
            `${from} -> ${to}:${port} ${got.get(`${from}>${to}`) ? 'allowed' : 'denied'}, want ${want ? 'allowed' : 'denied'}`,
          );
      }
  } while (wrong.length > 0 && Date.now() < until);
  t.deepEqual(wrong, [], `port ${port}`);
}

async function deletePolicies(): Promise<void> {
  for (const ns of namespaces) await kubectl('delete', 'networkpolicies', '--all', '-n', ns, '--wait=false');
}

test.serial('two nodes up; pods x, y, z × a, b, c running and reaching each other without policies', async (t) => {
  t.timeout(600_000, 'a sandbox and nine pods on a loaded machine');
  const up = await sandbox('up', '--nodes', '2');
  t.is(up.code, 0, up.stderr);
  kubeconfig = up.stdout.trim();
  for (const ns of namespaces) {
    const made = await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ns } } });
    t.is(made.code, 0, made.stderr);
  }
  const made = await apply({
    apiVersion: 'v1',
    kind: 'List',
    items: allPods.map((id) => serverPod(...(id.split('/') as [string, string]))),
  });
  t.is(made.code, 0, made.stderr);
  await waitFor(
    async () => {
      for (const id of allPods) {
        const [ns, pod] = id.split('/') as [string, string];
        const got = await kubectl('get', 'pod', '-n', ns, pod, '-o', 'jsonpath={.status.phase} {.status.podIP}');
        const [phase, ip] = got.stdout.split(' ');
        if (phase !== 'Running' || !ip) return false;
        ips.set(id, ip);
      }
      return true;
    },
    { what: 'nine pods Running with addresses', timeoutMs: 240_000, intervalMs: 1_000 },
  );
  await expectTable(t, 80, () => true);
});

test.serial('deny all ingress in x: x is unreachable, and node-1 counts the drops in /metrics', async (t) => {
  t.timeout(180_000);
  t.is((await apply(policy('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }))).code, 0);
  await expectTable(t, 80, (_from, to) => !to.startsWith('x/'));
  // the drop counters are read every 5 s and served with the proxy's metrics
  let text = '';
  const dropped = await waitFor(
    async () => {
      text = (await sandbox('exec', 'node-1', '--', 'curl', '-s', 'http://127.0.0.1:10256/metrics')).stdout;
      const n = Number(/bosun_network_policy_dropped_packets_total\{direction="ingress"\} (\d+)/.exec(text)?.[1] ?? 0);
      return n > 0 ? n : undefined;
    },
    { what: 'dropped ingress packets counted on node-1', timeoutMs: 15_000, intervalMs: 1_000 },
  ).catch(() => text.slice(0, 800));
  t.true(typeof dropped === 'number' && dropped > 0, String(dropped));
});

test.serial('allow x/a from namespace y on the named port serve-81-tcp only', async (t) => {
  t.timeout(180_000);
  const allow = policy('x', 'a-from-y-81', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 'serve-81-tcp' }] }],
  });
  t.is((await apply(allow)).code, 0);
  await expectTable(t, 81, (from, to) => !to.startsWith('x/') || (to === 'x/a' && from.startsWith('y/')));
  await expectTable(t, 80, (_from, to) => !to.startsWith('x/'), ['x/a', 'y/a']);
});

test.serial('egress of x/a only to pod b of namespace y (podSelector and namespaceSelector in one peer)', async (t) => {
  t.timeout(180_000);
  await deletePolicies();
  const egress = policy('x', 'a-to-y-b', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  t.is((await apply(egress)).code, 0);
  await expectTable(t, 80, (from, to) => from !== 'x/a' || to === 'y/b');
});

test.serial('egress of x/a to an ipBlock except one pod; ingress of x/b on a port range (endPort)', async (t) => {
  t.timeout(180_000);
  await deletePolicies();
  const block = policy('x', 'a-to-block', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${ips.get('y/b')}/32`] } }] }],
  });
  const range = policy('x', 'b-range', {
    podSelector: { matchLabels: { pod: 'b' } },
    ingress: [{ ports: [{ port: 81, endPort: 90 }] }],
  });
  t.is((await apply({ apiVersion: 'v1', kind: 'List', items: [block, range] })).code, 0);
  await expectTable(t, 80, (from, to) => !(from === 'x/a' && to === 'y/b') && to !== 'x/b');
  await expectTable(t, 81, (from, to) => !(from === 'x/a' && to === 'y/b'), ['x/b', 'y/b', 'z/b']);
});

test.serial("node-1's agent killed and started again: its rules hold meanwhile and after", async (t) => {
  t.timeout(240_000);
  const allowed = (from: PodId, to: PodId) => !(from === 'x/a' && to === 'y/b') && to !== 'x/b';
  const killed = await sandbox('kill', 'node-1', '--component', 'agent');
  t.is(killed.code, 0, killed.stderr);
  try {
    // node-1's pods cannot be exec'd into without its agent: node-2's pods probe them
    const onNode2: PodId[] = ['x/b', 'y/b', 'z/b'];
    await expectTable(t, 80, allowed, allPods, onNode2);
  } finally {
    const started = await sandbox('start', 'node-1', '--component', 'agent');
    t.is(started.code, 0, started.stderr);
  }
  await waitFor(async () => (await kubectl('exec', '-n', 'x', 'a', '--', 'true')).code === 0, {
    what: "node-1's kubelet port answering again",
    timeoutMs: 90_000,
    intervalMs: 1_000,
  });
  await expectTable(t, 80, allowed);
});

test.serial("a new pod's first packet already meets its policy (rules before containers)", async (t) => {
  t.timeout(180_000);
  await deletePolicies();
  t.is(
    (
      await apply(
        policy('x', 'early-no-egress', { podSelector: { matchLabels: { pod: 'early' } }, policyTypes: ['Egress'] }),
      )
    ).code,
    0,
  );
  // the policy is in the rules of node-1 once another pod of x on node-1 meets it: wait for a sync there
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const early = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'early', namespace: 'x', labels: { pod: 'early' } },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'first',
          image,
          command: [
            'sh',
            '-c',
            `if timeout 2 wget -q -O /dev/null http://${ips.get('y/b')}:80/; then echo FIRST-PASSED; else echo FIRST-DENIED; fi; exec sleep 3600`,
          ],
        },
      ],
    },
  };
  t.is((await apply(early)).code, 0);
  const said = await waitFor(
    async () => {
      const logs = await kubectl('logs', '-n', 'x', 'early');
      return /FIRST-(PASSED|DENIED)/.exec(logs.stdout)?.[0];
    },
    { what: "the new pod's first attempt", timeoutMs: 90_000, intervalMs: 1_000 },
  );
  t.is(said, 'FIRST-DENIED');
});

test.serial("a Service's traffic meets its backend's policy, by ClusterIP and by name", async (t) => {
  t.timeout(180_000);
  await deletePolicies();
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'x' },
    spec: { selector: { pod: 'a' }, ports: [{ port: 8000, targetPort: 80 }] },
  };
  const fromY = policy('x', 'a-from-y', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
  });
  t.is((await apply({ apiVersion: 'v1', kind: 'List', items: [service, fromY] })).code, 0);
  const clusterIP = (await kubectl('get', 'service', '-n', 'x', 'web', '-o', 'jsonpath={.spec.clusterIP}')).stdout;
  const fetch = async (ns: string, pod: string, host: string) =>
    (
      await kubectl(
        'exec',
        '-n',
        ns,
        pod,
        '--',
        'sh',
        '-c',
        `timeout 3 wget -q -O - http://${host}:8000/ >/dev/null 2>&1 && echo ok || echo no`,
      )
    ).stdout.trim();
  const table = async () =>
    Object.fromEntries(
      await Promise.all(
        [
          ['y/a', clusterIP],
          ['y/b', 'web.x.svc.cluster.local'],
          ['z/a', clusterIP],
          ['z/b', 'web.x.svc.cluster.local'],
        ].map(async ([from, host]) => {
          const [ns, pod] = from!.split('/') as [string, string];
          return [`${from} -> ${host === clusterIP ? 'ClusterIP' : 'name'}`, await fetch(ns, pod, host!)];
        }),
      ),
    );
  const want = { 'y/a -> ClusterIP': 'ok', 'y/b -> name': 'ok', 'z/a -> ClusterIP': 'no', 'z/b -> name': 'no' };
  let got: Record<string, string> = {};
  const deadline = Date.now() + 30_000;
  do got = await table();
  while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline);
  t.deepEqual(got, want);
});

test.serial('policies deleted: everyone reaches everyone again', async (t) => {
  t.timeout(180_000);
  await deletePolicies();
  await expectTable(t, 80, () => true);
});
