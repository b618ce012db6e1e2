/**
 * The built-in ingress proxy on a two-node sandbox, reached with real clients from the sandbox's
 * hub namespace (curl, as a client outside the cluster would be): two Services behind one Ingress
 * by host and by path, on both nodes' addresses; TLS with a Secret issued by a test CA, verified
 * by curl against that CA, over HTTP/2, then the Secret replaced and the new certificate served
 * without a restart; a backend pod deleted while a bounded stream of requests runs loses none of
 * them; the Ingress's status carries the nodes' addresses, and the proxy's metrics count requests.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNetns } from '../../host/process/process.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { createTestCa } from '../agent/ingress/test-ca.ts';

const image = 'localhost/bosun/busybox:1.35';
let sandbox: Sandbox | undefined;
let kubeconfig = '';
const scratch = mkdtempSync(join(tmpdir(), 'bosun-ingress-'));
const kubectl = (args: string[], input?: string) => kubectlOk({ kubeconfig, input, timeoutMs: 90_000 }, args);
/** curl from the hub: outside the cluster, reaching the nodes at their addresses. */
const curl = (args: string[], timeoutMs = 60_000) =>
  run(inNetns(sandbox!.hubNetns, ['curl', '-sS', '--max-time', '10', ...args]), { timeoutMs });

let nodeIPs: string[] = [];

/** A pod serving `<service> <pod>` on 8080 with busybox httpd, pinned to a node. */
const serverPod = (name: string, service: string, node: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: service } },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 0,
    containers: [
      {
        name: 'httpd',
        image,
        command: [
          'sh',
          '-c',
          `mkdir -p /www/alpha /www/beta && for f in /www/index.html /www/alpha/index.html /www/beta/index.html; do echo "${service} ${name}" > $f; done && exec httpd -f -p 8080 -h /www`,
        ],
        ports: [{ containerPort: 8080, name: 'web' }],
      },
    ],
  },
});

const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
});

const backend = (name: string) => ({ service: { name, port: { name: 'http' } } });

const routes = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'routes' },
  spec: {
    rules: [
      { host: 'a.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('alpha') }] } },
      { host: 'b.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('beta') }] } },
      {
        host: 'paths.test',
        http: {
          paths: [
            { path: '/alpha', pathType: 'Prefix', backend: backend('alpha') },
            { path: '/beta', pathType: 'Exact', backend: backend('beta') },
          ],
        },
      },
    ],
  },
};

const list = (...items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

test.before(async () => {
  sandbox = await createTestSandbox('bin', 2);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  await sandbox.joinAgents();
  nodeIPs = sandbox.nodes.map((n) => n.ip);
  await waitFor(
    async () =>
      (await kubectl(['get', 'nodes', '--no-headers'])).split('\n').filter((l) => / Ready /.test(l)).length === 2,
    { what: 'both nodes Ready', timeoutMs: 120_000, intervalMs: 500 },
  );
  await kubectl(
    ['apply', '-f', '-'],
    list(
      service('alpha'),
      service('beta'),
      serverPod('alpha-1', 'alpha', 'node-1'),
      serverPod('alpha-2', 'alpha', 'node-2'),
      serverPod('beta-1', 'beta', 'node-2'),
      routes,
    ),
  );
  await kubectl(['wait', '--for=condition=Ready', 'pod/alpha-1', 'pod/alpha-2', 'pod/beta-1', '--timeout=120s']);
});

test.after.always(async () => {
  await sandbox?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** The Secret secure-tls made by `kubectl create secret tls` from the pair, applied (created or replaced). */
async function applyTlsSecret(pair: { certPem: string; keyPem: string }): Promise<void> {
  writeFileSync(join(scratch, 'tls.crt'), pair.certPem);
  writeFileSync(join(scratch, 'tls.key'), pair.keyPem);
  const files = [`--cert=${join(scratch, 'tls.crt')}`, `--key=${join(scratch, 'tls.key')}`];
  const secret = await kubectl(['create', 'secret', 'tls', 'secure-tls', ...files, '--dry-run=client', '-o', 'json']);
  await kubectl(['apply', '-f', '-'], secret);
}

/** The body curl gets for `host` and `path` through the proxy at `ip`. */
async function through(ip: string, host: string, path: string): Promise<{ code: string; body: string }> {
  const result = await curl(['-H', `Host: ${host}`, '-w', '\n%{http_code}', `http://${ip}${path}`]);
  const lines = result.stdout.trimEnd().split('\n');
  return { code: lines.pop() ?? '', body: lines.join('\n').trimEnd() };
}

test.serial('two Services behind one Ingress, by host and by path, on every node', async (t) => {
  await waitFor(async () => (await through(nodeIPs[0]!, 'b.test', '/')).code === '200', {
    what: 'the proxy to route b.test',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  for (const ip of nodeIPs) {
    t.regex((await through(ip, 'a.test', '/')).body, /^alpha alpha-[12]$/, `a.test at ${ip}`);
    t.is((await through(ip, 'b.test', '/')).body, 'beta beta-1', `b.test at ${ip}`);
    t.regex((await through(ip, 'paths.test', '/alpha/')).body, /^alpha alpha-[12]$/);
    t.is(
      (await through(ip, 'paths.test', '/beta')).code,
      '302',
      'Exact /beta reaches beta (busybox redirects to /beta/)',
    );
    t.is((await through(ip, 'paths.test', '/beta/')).code, '404', 'Exact /beta does not cover /beta/');
    t.is((await through(ip, 'nobody.test', '/')).code, '404');
  }
  // both alpha pods take turns
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await through(nodeIPs[0]!, 'a.test', '/')).body);
  t.deepEqual([...seen].sort(), ['alpha alpha-1', 'alpha alpha-2']);
});

test.serial(
  'status.loadBalancer of the Ingress carries both nodes addresses; metrics count the requests',
  async (t) => {
    await waitFor(
      async () => {
        const ips = await kubectl(['get', 'ingress', 'routes', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}']);
        return ips.split(' ').sort().join(',') === [...nodeIPs].sort().join(',');
      },
      { what: 'the Ingress status to list both nodes', timeoutMs: 60_000, intervalMs: 500 },
    );
    t.regex(
      await kubectl(['get', 'ingress', 'routes']),
      /routes\s+bosun\s+a\.test,b\.test,paths\.test\s+172\.30\.0\.\d+,172\.30\.0\.\d+\s+80\s/,
    );
    const metrics = (await curl([`http://${nodeIPs[0]}:10256/metrics`])).stdout;
    t.regex(
      metrics,
      /bosun_ingress_requests_total\{namespace="default",ingress="routes",service="beta",code="200"\} \d+/,
    );
    t.regex(
      metrics,
      /bosun_ingress_request_duration_seconds_count\{namespace="default",ingress="routes",service="alpha"\} \d+/,
    );
  },
);

test.serial(
  'TLS from a Secret by SNI, verified against the test CA, over HTTP/2; a replaced Secret is served without a restart',
  async (t) => {
    const ca = await createTestCa();
    const caFile = join(scratch, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    await applyTlsSecret(await ca.issue(['secure.test'], 'secure.test first'));
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'secure' },
        spec: {
          tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }],
          rules: [
            { host: 'secure.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('beta') }] } },
          ],
        },
      }),
    );
    const verified = (ip: string) =>
      curl([
        '-v',
        '--cacert',
        caFile,
        '--resolve',
        `secure.test:443:${ip}`,
        '-w',
        '\n%{http_version}',
        'https://secure.test/',
      ]);
    await waitFor(async () => (await verified(nodeIPs[1]!)).code === 0, {
      what: 'secure.test to verify against the test CA',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    for (const ip of nodeIPs) {
      const reply = await verified(ip);
      t.is(reply.code, 0, reply.stderr);
      t.regex(reply.stderr, /subject: CN=secure\.test first/);
      t.regex(reply.stdout, /^beta beta-1\n+2$/, 'the body, over HTTP/2');
    }
    const plain = await curl([
      '-v',
      '--cacert',
      caFile,
      '--resolve',
      `other.test:443:${nodeIPs[0]}`,
      'https://other.test/',
    ]);
    t.not(plain.code, 0, 'a host without a Secret gets the self-signed default, which the CA does not vouch for');
    t.regex(plain.stderr, /bosun ingress default certificate|self.signed|unable to get local issuer/);

    // replaced as kubectl users do it: the same Secret, applied again with the new pair
    await applyTlsSecret(await ca.issue(['secure.test'], 'secure.test renewed'));
    const agentPids = sandbox!.nodes.map((n) => n.record.agent?.pid);
    for (const ip of nodeIPs) {
      await waitFor(async () => /subject: CN=secure\.test renewed/.test((await verified(ip)).stderr), {
        what: `the renewed certificate at ${ip}`,
        timeoutMs: 30_000,
        intervalMs: 500,
      });
    }
    t.deepEqual(
      sandbox!.nodes.map((n) => n.record.agent?.pid),
      agentPids,
      'the same agent processes serve it',
    );
  },
);

test.serial('a backend pod deleted during a bounded stream of requests: every request is answered', async (t) => {
  const count = 500;
  // one curl, one keep-alive connection, 100 requests a second for 5 s: the stream spans the
  // deletion (issued after 1 s) and the pod's end, however long that takes on a busy host
  const urls = Array.from({ length: count }, (_, i) => `http://${nodeIPs[0]}/?n=${i}`);
  const stream = curl(['-H', 'Host: a.test', '--rate', '100/s', '-w', '|%{http_code}\n', ...urls], 180_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await kubectl(['delete', 'pod', 'alpha-1', '--grace-period=0', '--force', '--wait=false']);
  const result = await stream;
  const answers = result.stdout.split('\n').filter((l) => l.startsWith('|'));
  t.is(answers.length, count, result.stderr);
  const failed = answers.filter((a) => a !== '|200');
  t.deepEqual(failed, [], `${failed.length} of ${count} requests failed`);
  const bodies = [...result.stdout.matchAll(/(alpha alpha-\d)\n\|200/g)].map((m) => m[1]);
  const lastFromDeleted = bodies.lastIndexOf('alpha alpha-1');
  t.true(
    lastFromDeleted > 0 && lastFromDeleted < count - 50,
    `the deleted pod answered until request ${lastFromDeleted}`,
  );
});
