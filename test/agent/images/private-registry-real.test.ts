/**
 * Private registries end to end with real parts: Debian's docker-registry with htpasswd (bcrypt)
 * auth in the bed's hub namespace, the busybox image pushed into it with ctr, a real `bosun
 * server`, and the agent's pod machinery on a bed node's containerd. The node reads pull secrets
 * with its own identity (system:node:node-1), as the node authorizer allows for secrets its pods
 * name. A pod without credentials is refused with the kubelet's ErrImagePull / ImagePullBackOff;
 * a dockerconfigjson secret in the pod, or in its service account, lets it run.
 *
 * Traffic stays inside the bed: the registry listens on the hub's bed address only.
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBed, bedImages, type Bed, type BedNode } from '../../bed/index.ts';
import { run } from '../../../host/process/run.ts';
import { waitFor } from '../../helpers/wait.ts';
import { startServerProcess, type ServerProcess } from '../../controlplane/server-process.ts';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { KubeClient } from '../../../kube/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { ContainerState, Pod } from '../../../kube/corev1.ts';
import { systemClock } from '../../../kube/clock.ts';
import { ApiConfigSource } from '../../../agent/pods/config-source.ts';
import { startBedPods, type BedPods } from '../bed-pods.ts';

const registryPort = 5000;
const user = 'puller';
const password = 'S3cret-registry-pass';
let registryHost = '';
let privateImage = '';

let bed: Bed | undefined;
let server: ServerProcess | undefined;
let client: KubeClient | undefined;
let nodeClient: KubeClient | undefined;
let pods: BedPods | undefined;
/** Everything the agent logged, at debug level, to check that no credential reaches its log. */
let agentLog = '';
/** Every waiting state the API showed for a pod's app container, in order (the states can pass quickly). */
const waitingSeen = new Map<string, { reason: string; message: string }[]>();

async function must(
  what: string,
  result: Promise<{ code: number | null; stdout: string; stderr: string }>,
): Promise<string> {
  const done = await result;
  if (done.code !== 0) throw new Error(`${what} failed (${done.code}): ${(done.stderr || done.stdout).trim()}`);
  return done.stdout;
}

/** docker-registry with htpasswd auth on the hub's bed address, its files under the bed's folder. */
async function startRegistry(b: Bed): Promise<void> {
  const dir = join(b.stateDir, 'registry');
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const htpasswd = await must(
    'htpasswd (apache2-utils; scripts/host-packages.sh test installs it)',
    run(['htpasswd', '-Bbn', user, password]),
  );
  writeFileSync(join(dir, 'htpasswd'), htpasswd);
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'storage'))}}}`,
      `http: {addr: "${registryHost}", secret: bosun-test-only}`,
      `auth: {htpasswd: {realm: bosun-test, path: ${JSON.stringify(join(dir, 'htpasswd'))}}}`,
      '',
    ].join('\n'),
  );
  const child = b.spawnInHub(['docker-registry', 'serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr.trim()}`);
      const probe = await b.runInHub([
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '2',
        `http://${registryHost}/v2/`,
      ]);
      return probe.stdout.trim() === '401';
    },
    { what: `docker-registry asking for credentials on ${registryHost}`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** containerd reaches the test registry over plain HTTP (a hosts.toml under its config_path). */
function trustPlainHttp(node: BedNode): void {
  const dir = join(node.stateDir, 'containerd', 'certs.d', registryHost);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'hosts.toml'),
    `server = "http://${registryHost}"\n\n[host."http://${registryHost}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
}

/** Tags the bed's busybox as the private image, pushes it with the registry's credentials, drops the tag. */
async function pushBusybox(node: BedNode): Promise<void> {
  const ctr = ['ctr', '--address', node.criEndpoint.replace('unix://', ''), '-n', 'k8s.io', 'images'];
  await must('ctr images tag', node.run([...ctr, 'tag', bedImages.busybox, privateImage]));
  await must(
    'ctr images push',
    node.run([...ctr, 'push', '--plain-http', '--user', `${user}:${password}`, privateImage], { timeoutMs: 60_000 }),
  );
  await must('ctr images rm', node.run([...ctr, 'rm', privateImage]));
}

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  bed = await createBed({ nodes: 1 });
  registryHost = `${bed.hubIP}:${registryPort}`;
  privateImage = `${registryHost}/bosun/busybox:private`;
  const node = bed.nodes[0]!;
  await startRegistry(bed);
  trustPlainHttp(node);
  await pushBusybox(node);

  const admin = loadKubeconfig(server.kubeconfig).client;
  client = new KubeClient(admin);
  const ca = {
    cert: readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(server.dataDir, 'pki/ca.key'), 'utf8'),
  };
  const nodePair = issueCertificate(ca, {
    commonName: `system:node:${node.name}`,
    organizations: ['system:nodes'],
    usage: 'client',
  });
  nodeClient = new KubeClient({ server: admin.server, ca: admin.ca, cert: nodePair.cert, key: nodePair.key });
  const log = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        agentLog += line;
      },
    },
  );
  pods = await startBedPods(node, client, new ApiConfigSource(nodeClient, systemClock, 0), log);
  pods.informer.addHandlers({
    onUpdate: (_previous, pod) => {
      const waiting = pod.status?.containerStatuses?.find((c) => c.name === 'app')?.state?.waiting;
      if (waiting?.reason === undefined) return;
      const seen = waitingSeen.get(pod.metadata.name!) ?? [];
      if (seen.at(-1)?.reason !== waiting.reason || seen.at(-1)?.message !== waiting.message)
        seen.push({ reason: waiting.reason, message: waiting.message ?? '' });
      waitingSeen.set(pod.metadata.name!, seen);
    },
  });
});

test.after.always(async () => {
  pods?.close();
  client?.close();
  nodeClient?.close();
  await bed?.destroy();
  await server?.destroy();
});

function privatePod(name: string, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: privateImage,
          imagePullPolicy: 'Always',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
        },
      ],
      ...spec,
    },
  };
}

async function appState(name: string): Promise<ContainerState | undefined> {
  const pod = await client!.get<Pod>(refs.pods, name, 'default');
  return pod.status?.containerStatuses?.find((s) => s.name === 'app')?.state;
}

async function runs(name: string): Promise<Pod> {
  return waitFor(
    async () => {
      const pod = await client!.get<Pod>(refs.pods, name, 'default');
      return pod.status?.phase === 'Running' && pod.status.containerStatuses?.[0]?.state?.running !== undefined
        ? pod
        : undefined;
    },
    { what: `pod ${name} Running`, timeoutMs: 60_000 },
  );
}

const dockerConfigJson = (registry: string, username: string, secret: string) => ({
  '.dockerconfigjson': Buffer.from(
    JSON.stringify({
      auths: {
        [registry]: { username, password: secret, auth: Buffer.from(`${username}:${secret}`).toString('base64') },
      },
    }),
  ).toString('base64'),
});

test.serial(
  "without credentials the pull is refused: ErrImagePull with the runtime's 401, then ImagePullBackOff",
  async (t) => {
    const started = performance.now();
    await client!.create<Pod>(refs.pods, privatePod('anonymous'));
    const seen = (reason: string) => waitingSeen.get('anonymous')?.find((w) => w.reason === reason);
    const refused = await waitFor(async () => seen('ErrImagePull'), {
      what: 'ErrImagePull on pod anonymous',
      timeoutMs: 60_000,
    });
    t.log(`ErrImagePull after ${Math.round(performance.now() - started)} ms: ${refused.message}`);
    const quoted = privateImage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    t.regex(
      refused.message,
      new RegExp(`^rpc error: code = Unknown desc = failed to pull and unpack image "${quoted}": .*401 Unauthorized`),
    );
    const backOff = await waitFor(async () => seen('ImagePullBackOff'), {
      what: 'ImagePullBackOff on pod anonymous',
      timeoutMs: 30_000,
    });
    t.log(`ImagePullBackOff after ${Math.round(performance.now() - started)} ms`);
    t.is(backOff.message, `Back-off pulling image "${privateImage}": ErrImagePull: ${refused.message}`);
    t.is((await client!.get<Pod>(refs.pods, 'anonymous', 'default')).status?.phase, 'Pending');
  },
);

test.serial("a wrong password is refused too, and the secret never shows in the pod's status", async (t) => {
  await client!.create(refs.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'wrongcred', namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    data: dockerConfigJson(registryHost, user, 'not-the-password'),
  });
  await client!.create<Pod>(refs.pods, privatePod('wrong', { imagePullSecrets: [{ name: 'wrongcred' }] }));
  // the agent moves from ErrImagePull to ImagePullBackOff within a resync; either carries the error
  const refused = await waitFor(
    async () => {
      const waiting = (await appState('wrong'))?.waiting;
      return waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff' ? waiting : undefined;
    },
    { what: 'ErrImagePull or ImagePullBackOff on pod wrong', timeoutMs: 60_000 },
  );
  t.regex(refused.message ?? '', /rpc error: code = Unknown desc = .*401 Unauthorized/);
  const pod = await client!.get<Pod>(refs.pods, 'wrong', 'default');
  t.false(JSON.stringify(pod.status).includes('not-the-password'));
});

test.serial(
  'with the secret kubectl create secret docker-registry makes, in imagePullSecrets, the image is pulled and the pod runs',
  async (t) => {
    await must(
      'kubectl create secret docker-registry',
      run(
        [
          'kubectl',
          '--kubeconfig',
          server!.kubeconfig,
          '-n',
          'default',
          'create',
          'secret',
          'docker-registry',
          'regcred',
          `--docker-server=${registryHost}`,
          `--docker-username=${user}`,
          `--docker-password=${password}`,
        ],
        { timeoutMs: 30_000 },
      ),
    );
    await client!.create<Pod>(refs.pods, privatePod('with-secret', { imagePullSecrets: [{ name: 'regcred' }] }));
    const pod = await runs('with-secret');
    t.regex(pod.status?.containerStatuses?.[0]?.imageID ?? '', /sha256:[0-9a-f]{64}/);
    t.false(JSON.stringify(pod.status).includes(password));
  },
);

test.serial(
  "the service account's imagePullSecrets (a legacy dockercfg secret) reach a pod that names none; it runs, and no credential was logged",
  async (t) => {
    const dockercfg = Buffer.from(
      JSON.stringify({ [`http://${registryHost}`]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } }),
    ).toString('base64');
    await client!.create(refs.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'regcfg', namespace: 'default' },
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': dockercfg },
    });
    await client!.create(refs.serviceaccounts, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'registry-user', namespace: 'default' },
      imagePullSecrets: [{ name: 'regcfg' }],
    });
    const created = await client!.create<Pod>(
      refs.pods,
      privatePod('via-account', { serviceAccountName: 'registry-user' }),
    );
    t.deepEqual(created.spec.imagePullSecrets, [{ name: 'regcfg' }]);
    await runs('via-account');
    // after every pull of this file, refused or not: the agent's debug log holds no credential
    t.true(agentLog.length > 0, 'the agent logged something at debug level');
    for (const secret of [password, 'not-the-password', Buffer.from(`${user}:${password}`).toString('base64')])
      t.false(agentLog.includes(secret));
  },
);
