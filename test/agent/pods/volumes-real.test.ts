/**
 * Configuration volumes and env on a real node: `bosun server` with its controllers, one sandbox
 * node with its own containerd and `bosun agent`, real kubectl. What the container sees is read
 * through CRI ExecSync inside it: configMap files that follow an update (a subPath copy that does
 * not), a Secret written with stringData, a secret with mode 0400 on tmpfs, env from ConfigMaps and Secrets, the downward API labels
 * file, a memory emptyDir, and the service-account token the admission mounted, which the API
 * server accepts. A subPath that a container pointed out of its volume, a hostPath outside the
 * allow list and missing ConfigMaps keep containers waiting with the kubelet's reasons. An allowed
 * hostPath is writable unless the mount says `readOnly: true`, as upstream mounts it.
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { Sandbox } from '../../../sandbox/sandbox.ts';
import { CriClient } from '../../../cri/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { bedImages, createTestSandbox } from '../../bed/index.ts';
import { waitFor } from '../../helpers/wait.ts';
import { AgentProcess } from '../agent-process.ts';
import { kubectl as runKubectl, kubectlOk } from '../../bed/kubectl.ts';

/** statfs(2)'s f_type of a tmpfs (TMPFS_MAGIC). */
const tmpfsMagic = 0x01021994;
const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let cri: CriClient | undefined;
let kubeconfig = '';
let agentRoot = '';

test.before(async () => {
  sandbox = await createTestSandbox('bsv', 1);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  const node = sandbox.nodes[0]!;
  agentRoot = join(node.stateDir, 'agent');
  agent = new AgentProcess(node, plane.nodeKubeconfig, ['--allowed-host-paths', join(sandbox.stateDir, 'allowed')]);
  agent.start();
  await agent.ready();
  cri = new CriClient(node.criEndpoint);
  await waitFor(async () => / Ready /.test(await kubectl('get', 'nodes', '--no-headers')), {
    what: 'the node Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  // the controllers publish these; pods need both
  await waitFor(
    async () => (await kubectlResult('get', 'configmap/kube-root-ca.crt', 'serviceaccount/default')).code === 0,
    { what: 'kube-root-ca.crt and the default service account in default', timeoutMs: 60_000, intervalMs: 500 },
  );
});

test.after.always(async () => {
  cri?.close();
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  await sandbox?.destroy();
});

function kubectlResult(...args: string[]) {
  return runKubectl({ kubeconfig, timeoutMs: 150_000 }, args);
}

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 150_000 }, args);
}

async function apply(name: string, manifest: string): Promise<void> {
  const file = join(sandbox!.stateDir, `${name}.yaml`);
  writeFileSync(file, manifest);
  await kubectl('apply', '-f', file);
}

async function podJson(name: string): Promise<any> {
  return JSON.parse(await kubectl('get', 'pod', name, '-o', 'json'));
}

async function containerId(pod: string, container: string): Promise<string> {
  return waitFor(
    async () => {
      const status = (await podJson(pod)).status?.containerStatuses?.find((s: any) => s.name === container);
      return status?.state?.running ? String(status.containerID).replace(/^[a-z]+:\/\//, '') : undefined;
    },
    { what: `container ${container} of pod ${pod} running`, timeoutMs: 120_000, intervalMs: 500 },
  );
}

async function sh(pod: string, container: string, script: string): Promise<string> {
  const result = await cri!.execSync(await containerId(pod, container), ['sh', '-c', script], 20);
  if (result.exitCode !== 0)
    throw new Error(`${script} in ${pod}/${container} exited ${result.exitCode}: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

async function waiting(pod: string, container: string, init = false): Promise<{ reason: string; message: string }> {
  return waitFor(
    async () => {
      const status = (await podJson(pod)).status;
      const list = init ? status?.initContainerStatuses : status?.containerStatuses;
      const state = list?.find((s: any) => s.name === container)?.state?.waiting;
      return state?.message ? state : undefined;
    },
    { what: `container ${container} of ${pod} waiting with a message`, timeoutMs: 120_000, intervalMs: 500 },
  );
}

function jwtClaims(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** POSTs a SelfSubjectReview with `token` to the server's loopback address; returns the status code and body. */
async function whoAmI(token: string): Promise<{ code: number; body: any }> {
  const loaded = loadKubeconfig(kubeconfig);
  const url = new URL('/apis/authentication.k8s.io/v1/selfsubjectreviews', loaded.client.server);
  const payload = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: loaded.client.ca,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

test.serial('an allowed hostPath is mounted read-write unless the mount says readOnly: true', async (t) => {
  const hostFolder = join(sandbox!.stateDir, 'allowed', 'shipper');
  mkdirSync(hostFolder, { recursive: true });
  const logs = { name: 'logs', hostPath: { path: hostFolder, type: 'Directory' } };
  const mounts = [
    { name: 'logs', mountPath: '/logs' },
    { name: 'logs', mountPath: '/logs-ro', readOnly: true },
  ];
  const container = { name: 'app', image: bedImages.busybox, command: ['sh', '-c', sleeper], volumeMounts: mounts };
  await apply(
    'shipper',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'shipper' },
      spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 2, containers: [container], volumes: [logs] },
    }),
  );
  await sh('shipper', 'app', 'echo shipped > /logs/from-pod');
  t.is(readFileSync(join(hostFolder, 'from-pod'), 'utf8'), 'shipped\n', 'what the pod wrote is in the host folder');
  const readOnly = await cri!.execSync(
    await containerId('shipper', 'app'),
    ['sh', '-c', 'echo no > /logs-ro/refused'],
    20,
  );
  t.not(readOnly.exitCode, 0);
  t.regex(readOnly.stderr.toString(), /Read-only file system/);
  t.false(existsSync(join(hostFolder, 'refused')));
  await kubectl('delete', 'pod', 'shipper', '--wait=false');
});

test.serial(
  'a Secret written with stringData (as most manifests write it) shows its values in the pod that mounts it',
  async (t) => {
    await apply(
      'string-secret',
      `apiVersion: v1
kind: Secret
metadata: {name: string-secret}
stringData:
  password: from-string-data
  config.yaml: "a: 1"
`,
    );
    const container = {
      name: 'app',
      image: bedImages.busybox,
      command: ['sh', '-c', sleeper],
      volumeMounts: [{ name: 's', mountPath: '/s' }],
    };
    await apply(
      'string-reader',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'string-reader' },
        spec: {
          nodeName: 'node-1',
          terminationGracePeriodSeconds: 2,
          containers: [container],
          volumes: [{ name: 's', secret: { secretName: 'string-secret' } }],
        },
      }),
    );
    t.is(await sh('string-reader', 'app', 'cat /s/password'), 'from-string-data');
    t.is(await sh('string-reader', 'app', 'cat /s/config.yaml'), 'a: 1');
    const stored = JSON.parse(await kubectl('get', 'secret', 'string-secret', '-o', 'json'));
    t.is(stored.stringData, undefined, 'stringData is never stored');
    t.is(Buffer.from(stored.data.password, 'base64').toString(), 'from-string-data');
    await kubectl('delete', 'pod', 'string-reader', '--wait=false');
  },
);

test.serial(
  'configMap, secret, downwardAPI, memory emptyDir, env and the service-account token inside a running container',
  async (t) => {
    await kubectl('create', 'configmap', 'app-config', '--from-literal=greeting=hello', '--from-literal=mode=prod');
    await kubectl('create', 'secret', 'generic', 'app-secret', '--from-literal=password=s3cret');
    await apply(
      'vol',
      `apiVersion: v1
kind: Pod
metadata: {name: vol, namespace: default, labels: {app: vol, tier: back}}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${bedImages.busybox}
    command: [sh, -c, '${sleeper}']
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}
    - {name: MAYBE, valueFrom: {configMapKeyRef: {name: nowhere, key: x, optional: true}}}
    envFrom: [{prefix: CFG_, configMapRef: {name: app-config}}]
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: cfg, mountPath: /etc/greeting, subPath: greeting}
    - {name: sec, mountPath: /sec}
    - {name: info, mountPath: /info}
    - {name: mem, mountPath: /mem}
    - {name: aud, mountPath: /aud}
  volumes:
  - {name: cfg, configMap: {name: app-config}}
  - {name: sec, secret: {secretName: app-secret, defaultMode: 0400}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: name, fieldRef: {fieldPath: metadata.name}}]}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: aud, projected: {sources: [{serviceAccountToken: {audience: bosun-test, expirationSeconds: 600, path: tok}}]}}
`,
    );
    t.is(await sh('vol', 'app', 'cat /cfg/greeting'), 'hello');
    t.is(await sh('vol', 'app', 'cat /etc/greeting'), 'hello');
    t.is(
      (await sh('vol', 'app', 'stat -L -c %a /sec/password')).trim(),
      '400',
      'defaultMode 0400 on the file the key links to',
    );
    t.is(await sh('vol', 'app', 'cat /sec/password'), 's3cret');
    t.is((await sh('vol', 'app', 'readlink /sec/password')).trim(), '..data/password', 'the AtomicWriter layout');
    const env = await sh('vol', 'app', 'env');
    for (const line of ['GREETING=hello', 'PASSWORD=s3cret', 'CFG_greeting=hello', 'CFG_mode=prod'])
      t.true(env.split('\n').includes(line), `env has ${line}`);
    t.false(/^MAYBE=/m.test(env), 'an optional missing ConfigMap leaves the variable out');
    t.is(await sh('vol', 'app', 'cat /info/labels'), 'app="vol"\ntier="back"');
    t.is(await sh('vol', 'app', 'cat /info/name'), 'vol');
    t.regex(await sh('vol', 'app', 'grep " /mem " /proc/mounts'), /^tmpfs \/mem tmpfs .*size=16384k/);
    t.regex(
      await sh('vol', 'app', 'grep " /sec " /proc/mounts'),
      /^tmpfs \/sec tmpfs ro,/,
      'a secret volume is a read-only tmpfs',
    );

    // the token the admission mounted: the API server accepts it, and it names this pod
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    t.is(await sh('vol', 'app', `cat ${sa}/namespace`), 'default');
    t.is(await sh('vol', 'app', `cat ${sa}/ca.crt`), loadKubeconfig(kubeconfig).client.ca);
    const token = await sh('vol', 'app', `cat ${sa}/token`);
    const review = await whoAmI(token);
    t.is(review.code, 201, JSON.stringify(review.body));
    t.is(review.body.status.userInfo.username, 'system:serviceaccount:default:default');
    const claims = jwtClaims(token);
    t.is(claims['kubernetes.io'].pod.name, 'vol');
    t.is(claims.exp - claims.iat, 3607);
    const custom = jwtClaims(await sh('vol', 'app', 'cat /aud/tok'));
    t.deepEqual(custom.aud, ['bosun-test']);
    t.is(custom.exp - custom.iat, 600);
    t.is((await whoAmI('not-a-token')).code, 401, 'the check can fail');

    // an update reaches the mounted file through the swap; the subPath copy stays as it was (upstream)
    await kubectl('patch', 'configmap', 'app-config', '--type=merge', '-p', '{"data":{"greeting":"bonjour"}}');
    await waitFor(async () => (await sh('vol', 'app', 'cat /cfg/greeting')) === 'bonjour', {
      what: 'the updated greeting in /cfg/greeting',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.is(await sh('vol', 'app', 'cat /etc/greeting'), 'hello');
    t.true((await sh('vol', 'app', 'env')).includes('GREETING=hello\n'), 'env values are taken at start');

    // on the host the secret is on the node's one memory tmpfs (no mount of its own), and the
    // pod's folders are torn down when the pod goes while that tmpfs stays for the others
    const uid = (await podJson('vol')).metadata.uid as string;
    const memoryRoot = join(agentRoot, 'pods-memory');
    const secretDir = join(memoryRoot, uid, 'volumes', 'kubernetes.io~secret', 'sec');
    t.is((await statfs(secretDir)).type, tmpfsMagic, 'the secret volume is on a tmpfs on the host');
    const mountPoints = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[4] ?? '');
    t.is(mountPoints().filter((point) => point === memoryRoot).length, 1, 'one memory tmpfs for the node');
    t.false(
      mountPoints().some((point) => point.startsWith(`${memoryRoot}/`)),
      'no tmpfs mounted for the pod itself',
    );
    await kubectl('delete', 'pod', 'vol', '--wait=true', '--timeout=120s');
    await waitFor(() => !existsSync(join(agentRoot, 'pods', uid)) && !existsSync(join(memoryRoot, uid)), {
      what: `the pod folders of ${uid} removed`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.false(
      readFileSync('/proc/self/mountinfo', 'utf8').includes(join(agentRoot, 'pods', uid)),
      'no mount left under the pod folder',
    );
    t.true(mountPoints().includes(memoryRoot), 'the memory tmpfs stays');
    // and its log folder, as the kubelet's container GC removes it
    await waitFor(() => !existsSync(join(sandbox!.nodes[0]!.podLogDir, `default_vol_${uid}`)), {
      what: `the log folder of pod vol (${uid}) removed`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  },
);

test.serial(
  'a subPath that leads out of its volume, a hostPath outside the allow list and missing ConfigMaps keep the container waiting',
  async (t) => {
    await apply(
      'bad',
      `apiVersion: v1
kind: Pod
metadata: {name: escape, namespace: default}
spec:
  nodeName: node-1
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: plant, image: ${bedImages.busybox}, command: [ln, -s, /etc, /shared/esc], volumeMounts: [{name: shared, mountPath: /shared}]}
  containers:
  - {name: app, image: ${bedImages.busybox}, command: [sh, -c, '${sleeper}'], volumeMounts: [{name: shared, mountPath: /host-etc, subPath: esc}]}
  volumes: [{name: shared, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostpath, namespace: default}
spec:
  nodeName: node-1
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${bedImages.busybox}, command: [sh, -c, '${sleeper}'], volumeMounts: [{name: etc, mountPath: /host-etc}]}
  volumes: [{name: etc, hostPath: {path: /etc, type: Directory}}]
---
apiVersion: v1
kind: Pod
metadata: {name: missing, namespace: default}
spec:
  nodeName: node-1
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${bedImages.busybox}, command: [sh, -c, '${sleeper}'], env: [{name: X, valueFrom: {configMapKeyRef: {name: absent, key: k}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: novolume, namespace: default}
spec:
  nodeName: node-1
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${bedImages.busybox}, command: [sh, -c, '${sleeper}'], volumeMounts: [{name: cfg, mountPath: /cfg}]}
  volumes: [{name: cfg, configMap: {name: gone}}]
`,
    );
    const escape = await waiting('escape', 'app');
    t.is(escape.reason, 'CreateContainerConfigError');
    t.regex(escape.message, /subPath esc of volume shared: .*symlink to \/etc, outside the volume/);
    const hostPath = await waiting('hostpath', 'app');
    t.is(hostPath.reason, 'CreateContainerConfigError');
    t.regex(hostPath.message, /hostPath \/etc is not allowed on this node .*--allowed-host-paths/);
    const missing = await waiting('missing', 'app');
    t.is(missing.reason, 'CreateContainerConfigError');
    t.is(missing.message, 'configmap "absent" not found');
    const noVolume = await waiting('novolume', 'app');
    t.is(noVolume.reason, 'ContainerCreating');
    t.is(noVolume.message, 'MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found');
    // once the ConfigMap exists the retry succeeds
    await kubectl('create', 'configmap', 'gone', '--from-literal=k=v');
    await containerId('novolume', 'app');
    t.is(await sh('novolume', 'app', 'cat /cfg/k'), 'v');
    await kubectl('delete', 'pod', 'escape', 'hostpath', 'missing', 'novolume', '--wait=false');
  },
);

test.serial('the volumes of a pod deleted while the agent was down are torn down when it starts again', async (t) => {
  await apply(
    'orphan',
    `apiVersion: v1
kind: Pod
metadata: {name: orphan, namespace: default}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${bedImages.busybox}, command: [sh, -c, '${sleeper}'], volumeMounts: [{name: sec, mountPath: /sec}, {name: mem, mountPath: /mem}]}
  volumes: [{name: sec, secret: {secretName: app-secret}}, {name: mem, emptyDir: {medium: Memory}}]
`,
  );
  t.is(await sh('orphan', 'app', 'cat /sec/password'), 's3cret');
  const uid = (await podJson('orphan')).metadata.uid as string;
  const dir = join(agentRoot, 'pods', uid);
  const memoryDir = join(agentRoot, 'pods-memory', uid);
  const mountsOfPod = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(` ${dir}/`)).length;
  t.true(mountsOfPod() >= 1, 'the memory emptyDir is a tmpfs mount');
  t.true(existsSync(join(memoryDir, 'volumes', 'kubernetes.io~secret', 'sec')), 'the secret is on the memory tmpfs');
  await agent!.stop(10_000);
  await kubectl('delete', 'pod', 'orphan', '--grace-period=0', '--force', '--wait=true', '--timeout=60s');
  t.true(existsSync(dir), 'nothing removed it while the agent was down');
  agent!.start();
  await agent!.ready();
  await waitFor(() => !existsSync(dir) && !existsSync(memoryDir) && mountsOfPod() === 0, {
    what: `the folders and mounts of ${uid} gone after the agent restarted`,
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  t.pass();
});
