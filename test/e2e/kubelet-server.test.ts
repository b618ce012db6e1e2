/**
 * The kubelet port end to end: `bosun server` on loopback, one sandbox node joined through
 * `bosun join` (so the agent is system:node:<name> and its serving certificate comes through a
 * CSR), and real kubectl for logs, exec, port-forward and nodes/proxy. The server reaches the
 * node's kubelet at its InternalIP through the sandbox's CONNECT proxy in the hub namespace; the
 * direct requests to :10250 are made from inside the node's namespace.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { run } from '../../host/process/run.ts';
import { inNetns } from '../../host/process/process.ts';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { issueCertificate } from '../../controlplane/pki/certificates.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

const kubectlOld = '/usr/lib/google-cloud-sdk/bin/kubectl.1.27';
const kubectlNew = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
// the newest releases, from the npm registry (1.35 lists through streaming watches)
const downloaded = installedKubectlReleases(['1.34', '1.35']).map((r) => r.binary);
/** Every kubectl these tests run: the machine's, the oldest and newest installed, 1.34 and 1.35. */
const releases = ['kubectl', kubectlOld, kubectlNew, ...downloaded];

let sandbox: Sandbox | undefined;
let kubeconfig = '';

function kubectlWith(binary: string, args: string[], timeoutMs = 60_000) {
  return runKubectl({ kubeconfig, binary, timeoutMs }, args);
}
const kubectl = (...args: string[]) => kubectlWith('kubectl', args);

function mustKubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig }, args);
}

function pod(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${sandboxImages.busybox}
    command: ["sh", "-c", ${JSON.stringify(script)}]
${extra}`;
}

async function apply(name: string, manifest: string): Promise<void> {
  const file = join(sandbox!.stateDir, `${name}.yaml`);
  writeFileSync(file, manifest);
  await mustKubectl('apply', '-f', file);
}

async function podField(name: string, path: string): Promise<string> {
  return (await kubectl('get', 'pod', name, '-o', `jsonpath=${path}`)).stdout;
}

test.before(async () => {
  sandbox = await createTestSandbox('bks', 1);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  await sandbox.joinAgents();
  await waitFor(async () => / Ready /.test((await kubectl('get', 'node', 'node-1', '--no-headers')).stdout), {
    what: 'node-1 Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  await apply(
    'web',
    pod('web', 'echo started; i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo line $i; done; exec httpd -f -p 8080 -h /'),
  );
  await apply('counter', pod('counter', 'echo attempt; sleep 2; exit 3'));
  await waitFor(async () => (await podField('web', '{.status.phase}')) === 'Running', {
    what: 'pod web Running',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  // the serving certificate comes through a CSR in the background: wait until logs work
  await waitFor(async () => (await kubectl('logs', 'web')).code === 0, {
    what: 'kubectl logs web to succeed (kubelet port up with an issued certificate)',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
});

test.after.always(async () => {
  await sandbox?.destroy();
});

test.serial('the serving certificate was issued by the cluster CA for the node name and IP, stored 0600', async (t) => {
  const node = sandbox!.node('node-1');
  const dir = join(node.stateDir, 'agent', 'pki');
  const cert = new X509Certificate(readFileSync(join(dir, 'kubelet-server.crt')));
  const ca = new X509Certificate(readFileSync(join(sandbox!.record.controlPlane!.dataDir, 'pki', 'ca.crt')));
  t.true(cert.verify(ca.publicKey));
  t.regex(cert.subject, /CN=system:node:node-1/);
  t.truthy(cert.checkIP(node.ip));
  t.truthy(cert.checkHost('node-1'));
  const { statSync } = await import('node:fs');
  t.is(statSync(join(dir, 'kubelet-server.key')).mode & 0o777, 0o600);
});

test.serial('kubectl logs: plain, --tail, -f sees new lines, --previous after a restart', async (t) => {
  const plain = await mustKubectl('logs', 'web');
  t.is(plain, 'started\nline 1\nline 2\nline 3\n');
  t.is(await mustKubectl('logs', 'web', '--tail=1'), 'line 3\n');
  t.regex(await mustKubectl('logs', 'web', '--timestamps', '--tail=1'), /^\d{4}-\d\d-\d\dT\S+ line 3\n$/);
  t.is(await mustKubectl('logs', 'web', '--limit-bytes=7'), 'started');

  // -f on a container that exits: the stream ends by itself when the container stops
  await waitFor(async () => Number(await podField('counter', '{.status.containerStatuses[0].restartCount}')) >= 1, {
    what: 'pod counter restarted at least once',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  t.is(await mustKubectl('logs', 'counter', '--previous'), 'attempt\n');
  await apply('ticker', pod('ticker', 'i=0; while [ $i -lt 8 ]; do i=$((i+1)); echo tick $i; sleep 0.5; done'));
  await waitFor(async () => (await podField('ticker', '{.status.phase}')) === 'Running', {
    what: 'pod ticker Running',
    timeoutMs: 60_000,
    intervalMs: 300,
  });
  const followed = await kubectlWith('kubectl', ['logs', '-f', 'ticker'], 60_000);
  t.is(followed.code, 0, followed.stderr);
  t.is(
    followed.stdout,
    Array.from({ length: 8 }, (_, i) => `tick ${i + 1}\n`).join(''),
    'followed every line until the container exited',
  );
});

test.serial('kubectl exec: output, exit code, a terminal, with kubectl 1.27, 1.32, 1.33, 1.34 and 1.35', async (t) => {
  for (const binary of releases) {
    const r = await kubectlWith(binary, ['exec', 'web', '--', 'cat', '/etc/hostname']);
    t.is(r.code, 0, `${binary}: ${r.stderr}`);
    t.is(r.stdout.trim(), 'web', binary);
    const failed = await kubectlWith(binary, ['exec', 'web', '--', 'sh', '-c', 'echo oops >&2; exit 7']);
    t.is(failed.code, 7, `${binary}: ${failed.stderr}`);
    t.regex(failed.stderr, /oops/);
  }
  const tty = await run(
    ['script', '-qec', `kubectl --kubeconfig ${kubeconfig} exec -it web -- sh -c 'tty; exit 0'`, '/dev/null'],
    { timeoutMs: 60_000 },
  );
  t.is(tty.code, 0, tty.stderr);
  t.regex(tty.stdout, /\/dev\/pts\/\d+/);
});

test.serial(
  'kubectl attach: stdin reaches the running container and its output comes back, with kubectl 1.27, 1.32, 1.33, 1.34 and 1.35',
  async (t) => {
    for (const [i, binary] of releases.entries()) {
      const name = `attached-${i}`;
      // the container waits for a line on its stdin, answers, and exits (which ends the attach)
      await apply(
        name,
        pod(
          name,
          'read line; echo "got:$line"',
          `    stdin: true
    stdinOnce: true
  restartPolicy: Never`,
        ),
      );
      await waitFor(
        async () => (await podField(name, '{.status.containerStatuses[0].state.running.startedAt}')) !== '',
        { what: `pod ${name} running`, timeoutMs: 90_000, intervalMs: 300 },
      );
      const r = await run([binary, '--kubeconfig', kubeconfig, 'attach', '-i', name, '-c', 'main'], {
        input: 'hello\n',
        timeoutMs: 60_000,
      });
      t.regex(r.stdout, /got:hello/, `${binary}: ${r.stderr}`);
    }
  },
);

/**
 * Runs `kubectl port-forward` until it prints its local port, GETs a file through it, stops it;
 * `output` is what kubectl printed (its request log too, with `-v=6` in `extra`).
 */
async function portForwardGet(binary: string, extra: string[] = []): Promise<{ body: string; output: string }> {
  const child = spawn(
    binary,
    ['--kubeconfig', kubeconfig, ...extra, 'port-forward', '--address', '127.0.0.1', 'pod/web', ':8080'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  try {
    const port = await waitFor(() => Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? 0) || false, {
      what: `${binary} port-forward to print its port (output: ${output})`,
      timeoutMs: 30_000,
    });
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/etc/hostname', timeout: 20_000 }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    return { body, output };
  } finally {
    child.kill('SIGTERM');
  }
}

test.serial(
  'kubectl port-forward: an HTTP GET reaches the pod, with kubectl 1.27, 1.32, 1.33, 1.34 and 1.35',
  async (t) => {
    for (const binary of releases) {
      t.is((await portForwardGet(binary)).body.trim(), 'web', binary);
    }
  },
);

/** The machine's minor version of a kubectl binary ('kubectl.1.27' is 27; the machine's own, 32). */
async function kubectlMinor(binary: string): Promise<number> {
  const version = JSON.parse(await kubectlOk({ kubeconfig, binary }, ['version', '--client', '-o', 'json']));
  return Number(version.clientVersion.minor.replace(/\D+$/, ''));
}

test.serial(
  'kubectl 1.31 and later exec and port-forward over their first websocket, without falling back to SPDY',
  async (t) => {
    let checked = 0;
    for (const binary of releases) {
      if ((await kubectlMinor(binary)) < 31) continue;
      checked += 1;
      // -v=6 logs the subprotocol a websocket settled on, and a fallback to SPDY when there is one
      const exec = await kubectlWith(binary, ['-v=6', 'exec', 'web', '--', 'cat', '/etc/hostname']);
      t.is(exec.code, 0, `${binary}: ${exec.stderr}`);
      t.is(exec.stdout.trim(), 'web', binary);
      t.regex(exec.stderr, /The subprotocol is v5\.channel\.k8s\.io/, `${binary}: ${exec.stderr}`);
      t.notRegex(exec.stderr, /fallback|"POST"|POST https/i, `${binary}: ${exec.stderr}`);
      const forwarded = await portForwardGet(binary, ['-v=6']);
      t.is(forwarded.body.trim(), 'web', binary);
      t.regex(forwarded.output, /negotiated protocol: portforward\.k8s\.io/, `${binary}: ${forwarded.output}`);
      t.notRegex(forwarded.output, /fallback|"POST"|POST https/i, `${binary}: ${forwarded.output}`);
    }
    t.true(checked >= 2, `only ${checked} kubectl releases of 1.31 or later were found`);
  },
);

test.serial(
  'kubectl run -i --rm, wait and logs -f, which watch for the pod with 1.27, 1.32, 1.33, 1.34 and 1.35 (streaming lists from 1.35)',
  async (t) => {
    for (const [i, binary] of releases.entries()) {
      const name = `once-${i}`;
      const ran = await kubectlWith(
        binary,
        [
          'run',
          name,
          '-i',
          '--rm',
          '--restart=Never',
          `--image=${sandboxImages.busybox}`,
          '--',
          'sh',
          '-c',
          'read line; echo "ran:$line"',
        ],
        90_000,
      );
      t.is(ran.code, 0, `${binary} run: ${ran.stderr}`);
      t.regex(ran.stdout, /ran:/, `${binary} run: ${ran.stdout}`);
      t.is((await kubectl('get', 'pod', name)).code, 1, `${binary} run --rm deleted ${name}`);
      const waited = await kubectlWith(binary, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=30s']);
      t.is(waited.code, 0, `${binary} wait: ${waited.stderr}`);
      t.regex(waited.stdout, /pod\/web condition met/);
      const followed = await kubectlWith(binary, ['logs', '-f', 'counter', '--tail=1'], 60_000);
      t.regex(followed.stdout, /attempt/, `${binary} logs -f: ${followed.stderr}`);
    }
  },
);

test.serial('nodes/proxy: stats summary, metrics and pods through the API server', async (t) => {
  const summary = JSON.parse(await mustKubectl('get', '--raw', '/api/v1/nodes/node-1/proxy/stats/summary'));
  t.is(summary.node.nodeName, 'node-1');
  t.true(summary.node.memory.workingSetBytes > 0);
  t.true(summary.node.fs.capacityBytes > 0);
  const web = summary.pods.find((p: { podRef: { name: string } }) => p.podRef.name === 'web');
  t.truthy(web, 'pod web is in the summary');
  t.true(
    web.containers.some(
      (c: { name: string; memory?: { workingSetBytes?: number } }) =>
        c.name === 'main' && (c.memory?.workingSetBytes ?? 0) > 0,
    ),
  );
  const metrics = await mustKubectl('get', '--raw', '/api/v1/nodes/node-1/proxy/metrics');
  t.regex(metrics, /^kubelet_running_pods \d+$/m);
  t.regex(metrics, /^kubelet_running_containers\{container_state="running"\} \d+$/m);
  const resource = await mustKubectl('get', '--raw', '/api/v1/nodes/node-1/proxy/metrics/resource');
  t.regex(resource, /^node_cpu_usage_seconds_total \S+ \d+$/m);
  t.regex(resource, /^container_memory_working_set_bytes\{container="main",namespace="default",pod="web"\} \d+/m);
  const pods = JSON.parse(await mustKubectl('get', '--raw', '/api/v1/nodes/node-1/proxy/pods'));
  t.is(pods.kind, 'PodList');
  t.true(pods.items.some((p: { metadata: { name: string } }) => p.metadata.name === 'web'));
});

/** An HTTPS request to the node's kubelet port, made from inside the node's namespace. */
async function direct(
  path: string,
  identity?: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  const node = sandbox!.node('node-1');
  const script = `
    const https = require('node:https');
    const id = ${JSON.stringify(identity ?? null)};
    const req = https.request({ host: ${JSON.stringify(node.ip)}, port: 10250, path: ${JSON.stringify(path)}, rejectUnauthorized: false, ...(id ?? {}) }, (res) => {
      let body = ''; res.on('data', (d) => { body += d; }); res.on('end', () => { console.log(JSON.stringify({ status: res.statusCode, body })); });
    });
    req.on('error', (e) => { console.log(JSON.stringify({ status: 0, body: e.message })); });
    req.end();`;
  const r = await run(inNetns(node.netns, [process.execPath, '-e', script]), { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as { status: number; body: string };
}

test.serial(
  'the kubelet port: anonymous is 401, a user without RBAC is 403, the API server identity passes',
  async (t) => {
    const anonymous = await direct('/pods');
    t.is(anonymous.status, 401, anonymous.body);
    const pki = join(sandbox!.record.controlPlane!.dataDir, 'pki');
    const ca = { cert: readFileSync(join(pki, 'ca.crt'), 'utf8'), key: readFileSync(join(pki, 'ca.key'), 'utf8') };
    const mallory = issueCertificate(ca, { commonName: 'mallory', organizations: ['dev'], usage: 'client' });
    const refused = await direct('/stats/summary', mallory);
    t.is(refused.status, 403, refused.body);
    t.regex(refused.body, /user=mallory.*subresource=stats/);
    const apiServer = issueCertificate(ca, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['kubeadm:cluster-admins'],
      usage: 'client',
    });
    const allowed = await direct('/healthz', apiServer);
    t.is(allowed.status, 200, allowed.body);
    // once RBAC grants mallory nodes/stats, the review says yes
    await mustKubectl('create', 'clusterrole', 'stats-reader', '--verb=get', '--resource=nodes/stats');
    await mustKubectl('create', 'clusterrolebinding', 'mallory-stats', '--clusterrole=stats-reader', '--user=mallory');
    // a denial is cached for 30 s (upstream's webhook cache), so the new answer may take that long
    await waitFor(async () => (await direct('/stats/summary', mallory)).status === 200, {
      what: 'mallory allowed /stats/summary after the binding',
      timeoutMs: 60_000,
      intervalMs: 2_000,
    });
    t.is((await direct('/pods', mallory)).status, 403, 'stats does not grant proxy');
  },
);
