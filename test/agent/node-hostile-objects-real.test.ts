/**
 * The node holds when hostile objects get past the API server: `bosun server` on a real etcd, one
 * sandbox node with its own containerd and `bosun agent`, real kubectl. The objects are first made
 * valid through the API, then edited by hand in etcd (as an operator with etcdctl, or a bug in an
 * older server, could leave them), so the agent's informers deliver them as the API would.
 *
 *  - a pod whose volume name climbs out of the pod folder: no file or folder outside it, no
 *    sandbox, a Warning event with upstream's field error; another pod still runs;
 *  - a Service with a port name that would inject a rule and a port 70000, and an EndpointSlice
 *    with a string port: nothing of them in the node's iptables-save, a Warning event on each
 *    Service, and a good Service still reaches its pod through the proxy rules;
 *  - the bad SRV record does not take the agent's DNS down: it keeps answering;
 *  - an unhandled rejection and an uncaught exception (made on purpose through a preloaded module)
 *    are logged with their origin and the agent keeps running.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Etcd3 } from 'etcd3';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { CriClient } from '../../cri/client.ts';
import type { Pod } from '../../kube/corev1.ts';
import { bedImages, createTestSandbox } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { startEtcd, type EtcdProcess } from '../controlplane/etcd-process.ts';
import { etcdCredentials } from '../../controlplane/storage/etcd.ts';
import { AgentProcess } from './agent-process.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';

const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';
/** Makes the agent reject a promise and throw from a timer on SIGUSR2. */
const escapeOnSignal = join(import.meta.dirname, 'preload', 'escape-on-signal.mjs');

let etcd: EtcdProcess | undefined;
let store: Etcd3 | undefined;
let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let kubeconfig = '';

test.before(async () => {
  etcd = await startEtcd();
  store = new Etcd3({
    hosts: etcd.endpoint,
    ...(etcd.clientTls ? { credentials: etcdCredentials(etcd.clientTls) } : {}),
  });
  sandbox = await createTestSandbox('bho', 1);
  const plane = await sandbox.startControlPlane(['--datastore', 'etcd', ...etcd.serverFlags]);
  kubeconfig = plane.kubeconfig;
  const node = sandbox.nodes[0]!;
  agent = new AgentProcess(node, plane.nodeKubeconfig, ['--cluster-dns-serve', 'true']);
  agent.start([], ['--import', escapeOnSignal]);
  await agent.ready();
  await waitFor(async () => / Ready /.test(await kubectl('get', 'nodes', '--no-headers')), {
    what: 'the node Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  // the controllers publish these; pods need both
  await waitFor(
    async () =>
      (
        await runKubectl({ kubeconfig, timeoutMs: 30_000 }, [
          'get',
          'configmap/kube-root-ca.crt',
          'serviceaccount/default',
        ])
      ).code === 0,
    { what: 'kube-root-ca.crt and the default service account', timeoutMs: 60_000, intervalMs: 500 },
  );
});

test.after.always(async () => {
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  await sandbox?.destroy();
  store?.close();
  await etcd?.destroy();
});

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 90_000 }, args);
}

async function kubectlCreate(objects: object[]): Promise<void> {
  const file = join(sandbox!.stateDir, `objects-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(file, objects.map((o) => yaml.dump(o)).join('---\n'));
  await kubectl('create', '-f', file);
}

/** Rewrites a stored object in etcd, past every check of the API server. */
async function editStored(key: string, edit: (object: any) => void): Promise<void> {
  const raw = await store!.get(key).string();
  if (raw === null) throw new Error(`${key} is not in etcd`);
  const object = JSON.parse(raw);
  edit(object);
  await store!.put(key).value(JSON.stringify(object));
}

async function warningEvents(kind: string, name: string): Promise<string> {
  return kubectl(
    'get',
    'events',
    '--field-selector',
    `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`,
    '-o',
    'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
  );
}

function pod(name: string, extra: Partial<Pod['spec']> = {}, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: bedImages.busybox, command: ['sh', '-c', sleeper] }],
      ...extra,
    },
  };
}

test.serial(
  'a pod whose volume name climbs out of its folder is refused with an event; nothing lands outside',
  async (t) => {
    // valid through the API, bound to no node yet: the agent does not see it until it is edited
    await kubectlCreate([
      pod('climber', {
        nodeName: 'elsewhere',
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            image: bedImages.busybox,
            command: ['sh', '-c', sleeper],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
      }),
    ]);
    const climb = '../../../../../climbed';
    await editStored('/registry/pods/default/climber', (object) => {
      object.spec.volumes[0].name = climb;
      object.spec.containers[0].volumeMounts[0].name = climb;
      object.spec.nodeName = sandbox!.nodes[0]!.name;
    });
    const events = await waitFor(
      async () => {
        const text = await warningEvents('Pod', 'climber');
        return text.includes('spec.volumes[0].name') ? text : undefined;
      },
      { what: 'a Warning event on pod climber', timeoutMs: 60_000, intervalMs: 500 },
    );
    t.regex(
      events,
      /FailedCreatePodSandBox: .*spec\.volumes\[0\]\.name: Invalid value: "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/climbed": a lowercase RFC 1123 label/,
    );
    const uid = (await kubectl('get', 'pod', 'climber', '-o', 'jsonpath={.metadata.uid}')).trim();
    const cri = new CriClient(sandbox!.nodes[0]!.criEndpoint);
    t.teardown(() => cri.close());
    const agentRoot = join(sandbox!.nodes[0]!.stateDir, 'agent');
    t.deepEqual(await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } }), [], 'no sandbox');
    // wherever the name could lead from the volume folder, nothing was made there
    const volumeParent = join(agentRoot, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir');
    for (let up = 1; up <= 8; up++)
      t.false(existsSync(join(volumeParent, '../'.repeat(up), 'climbed')), `${up} levels up`);
    t.false(existsSync(join(agentRoot, 'pods', uid)), 'no pod folder either');
    t.false(
      readdirSync(sandbox!.nodes[0]!.podLogDir).some((name) => name.includes(uid)),
      'no log folder',
    );

    // the node goes on with other pods
    await kubectlCreate([pod('bystander', { nodeName: sandbox!.nodes[0]!.name })]);
    await waitFor(
      async () => (await kubectl('get', 'pod', 'bystander', '-o', 'jsonpath={.status.phase}')) === 'Running',
      { what: 'pod bystander Running', timeoutMs: 60_000, intervalMs: 500 },
    );
    t.truthy(agent!.running, 'the agent is still up');
    await kubectl('delete', 'pod', 'climber', 'bystander', '--wait=false');
  },
);

test.serial(
  'hostile Service and EndpointSlice fields stay out of iptables; a good Service still reaches its pod; DNS keeps answering',
  async (t) => {
    const node = sandbox!.nodes[0]!;
    await kubectlCreate([
      pod(
        'web',
        {
          nodeName: node.name,
          containers: [
            {
              name: 'httpd',
              image: bedImages.busybox,
              command: [
                'sh',
                '-c',
                'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www',
              ],
            },
          ],
        },
        { app: 'web' },
      ),
    ]);
    const podIP = await waitFor(
      async () => {
        const ip = (await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}')).trim();
        return ip === '' ? undefined : ip;
      },
      { what: 'pod web has an IP', timeoutMs: 60_000, intervalMs: 500 },
    );
    const slice = (name: string, service: string) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [podIP], conditions: { ready: true }, nodeName: node.name }],
    });
    await kubectlCreate([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
      slice('web-1', 'web'),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'injector', namespace: 'default' },
        spec: {
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'big', port: 81, targetPort: 8080 },
          ],
        },
      },
      slice('injector-1', 'injector'),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'stringport', namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
      slice('stringport-1', 'stringport'),
    ]);
    const clusterIP = (name: string) =>
      kubectl('get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}').then((s) => s.trim());
    const [webIP, injectorIP, stringportIP] = [
      await clusterIP('web'),
      await clusterIP('injector'),
      await clusterIP('stringport'),
    ];
    await editStored('/registry/services/default/injector', (object) => {
      object.spec.ports[0].name = 'x"\n-A BOSUN-INJECTED -j ACCEPT\n#';
      object.spec.ports[1].port = 70000;
    });
    await editStored('/registry/endpointslices/default/stringport-1', (object) => {
      object.ports[0].port = '8080; touch /tmp/bosun-injected';
    });
    // the good Service works through the rules (the node routes the service CIDR into the sink)
    const page = await waitFor(
      async () => {
        const got = await node.run(['/bin/busybox', 'nc', '-w', '2', webIP, '80'], {
          input: 'GET / HTTP/1.0\r\nHost: web\r\n\r\n',
          timeoutMs: 10_000,
        });
        return got.code === 0 && got.stdout.includes(' 200 ') ? got.stdout : undefined;
      },
      { what: `http://${webIP}/ answered through the proxy rules`, timeoutMs: 60_000, intervalMs: 500 },
    );
    t.true(page.includes('hello-from-web'));
    await waitFor(async () => (await warningEvents('Service', 'injector')).includes('RefusedInvalidFields'), {
      what: 'a Warning event on Service injector',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await waitFor(async () => (await warningEvents('Service', 'stringport')).includes('EndpointSlice stringport-1'), {
      what: 'a Warning event on Service stringport',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    const save = await node.run(['iptables-save']);
    t.is(save.code, 0, save.stderr);
    t.true(save.stdout.includes(webIP), 'the good Service is programmed');
    for (const needle of ['BOSUN-INJECTED', '70000', 'touch']) t.false(save.stdout.includes(needle), needle);
    t.false(save.stdout.includes(injectorIP), 'no rule from the hostile Service');
    // the Service itself is fine: it has no usable endpoint, so its port is refused as any such port is
    t.false(
      save.stdout.split('\n').some((line) => line.includes(stringportIP) && line.includes('DNAT')),
      'no DNAT from the hostile EndpointSlice',
    );
    t.false(existsSync('/tmp/bosun-injected'));
    // the bad SRV record (port 70000 under the name "big") and the rest of DNS
    for (let i = 0; i < 3; i++) {
      await node.run(
        ['/bin/busybox', 'nslookup', '-type=SRV', '_big._tcp.injector.default.svc.cluster.local', node.ip],
        { timeoutMs: 10_000 },
      );
    }
    const answer = await node.run(['/bin/busybox', 'nslookup', 'web.default.svc.cluster.local', node.ip], {
      timeoutMs: 10_000,
    });
    t.true(answer.stdout.includes(webIP), answer.stdout + answer.stderr);
    t.truthy(agent!.running, 'the agent is still up');
    await kubectl('delete', 'service', 'web', 'injector', 'stringport', '--wait=false');
    await kubectl('delete', 'pod', 'web', '--wait=false');
  },
);

test.serial(
  'an unhandled rejection and an uncaught exception in the agent are logged with their origin; it keeps running',
  async (t) => {
    const run = agent!.running;
    if (run === undefined) return t.fail('the agent does not run');
    process.kill(run.pid, 'SIGUSR2');
    const logged = await waitFor(
      () => {
        const lines = agent!.lines().filter((line) => typeof line.origin === 'string');
        return lines.length >= 2 ? lines : undefined;
      },
      { what: 'both escaped errors in the agent log', timeoutMs: 20_000, intervalMs: 200 },
    );
    t.deepEqual(
      logged.map((line) => [line.origin, (line.err as { message: string }).message]),
      [
        ['unhandledRejection', 'test: a rejection nobody handles'],
        ['uncaughtException', 'test: an exception thrown from a timer'],
      ],
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    t.is(agent!.running, run, 'the same agent process still runs');
    // and still does its work: the node stays Ready and a new pod starts
    await kubectlCreate([pod('after-escape', { nodeName: sandbox!.nodes[0]!.name })]);
    await waitFor(
      async () => (await kubectl('get', 'pod', 'after-escape', '-o', 'jsonpath={.status.phase}')) === 'Running',
      { what: 'pod after-escape Running', timeoutMs: 60_000, intervalMs: 500 },
    );
    await kubectl('delete', 'pod', 'after-escape', '--wait=false');
  },
);
