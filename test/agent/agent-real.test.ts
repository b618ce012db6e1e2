/**
 * `bosun agent` as a process on a sandbox node, against `bosun server` and real kubectl: the node
 * registers and turns Ready, a pod created with kubectl runs and reports its IP, the agent survives
 * SIGKILL in the middle of a pod's start-up and with 20 running pods (no container restarted, no
 * second sandbox, Ready never flips), containerd restarting leaves nothing in Created, deleting a
 * pod removes its sandbox, and start-up failures are one line and exit code 1. The proxy's health
 * port (10256) answers as kube-proxy's.
 *
 * The server runs on the host's loopback; relays make it reachable from the node at the hub
 * address (sandbox/control-plane.ts). The agent runs inside the node's namespace.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { CriClient } from '../../cri/client.ts';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { refs } from '../../kube/resource-ref.ts';
import { isApiError } from '../../kube/errors.ts';
import type { Node, Pod } from '../../kube/corev1.ts';
import { bedImages, createTestSandbox } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { AgentProcess } from './agent-process.ts';
import { hostCgroupMounts } from '../../agent/pods/pod-cgroups.ts';
import { kubectlOk } from '../bed/kubectl.ts';

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let client: KubeClient | undefined;
let cri: CriClient | undefined;
let kubeconfig = '';

test.before(async () => {
  sandbox = await createTestSandbox('bsa', 1);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  client = new KubeClient(loadKubeconfig(plane.kubeconfig).client);
  const node = sandbox.node('node-1');
  cri = new CriClient(node.criEndpoint);
  agent = new AgentProcess(node, plane.nodeKubeconfig, [
    '--node-labels',
    'bosun.test/role=worker',
    '--cluster-dns-serve',
    'true',
  ]);
  agent.start();
  await agent.ready();
});

test.after.always(async () => {
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  cri?.close();
  client?.close();
  await sandbox?.destroy();
});

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 90_000 }, args);
}

const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

function podManifest(name: string, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'agent-test' } },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', sleeper],
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        },
      ],
      ...extra,
    },
  };
}

async function kubectlCreate(objects: Pod[]): Promise<void> {
  const file = join(sandbox!.stateDir, `pods-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(file, objects.map((o) => yaml.dump(o)).join('---\n'));
  await kubectl('create', '-f', file);
}

const isReady = (pod: Pod | undefined) => pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

/** The pod, or undefined when the API says it does not exist; any other failure fails the test. */
async function getPod(name: string): Promise<Pod | undefined> {
  return client!.get<Pod>(refs.pods, name, 'default').catch((err: unknown) => {
    if (isApiError(err, 'NotFound')) return undefined;
    throw err;
  });
}

async function sandboxesOf(uid: string) {
  return cri!.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
}

/** Container IDs and restart counts as the API shows them, per pod name. */
async function containerFacts(names: string[]): Promise<Record<string, string>> {
  const facts: Record<string, string> = {};
  for (const name of names) {
    const pod = await getPod(name);
    for (const s of [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])]) {
      facts[`${name}/${s.name}`] = `${s.containerID} restarts=${s.restartCount}`;
    }
  }
  return facts;
}

/** Watches pods and records every Ready=False (or missing Ready) seen for a pod that was Ready. */
function watchReadiness(names: Set<string>): { stop: () => Promise<string[]> } {
  const abort = new AbortController();
  const flips: string[] = [];
  const watching = (async () => {
    const list = await client!.list<Pod>(refs.pods, { namespace: 'default' });
    try {
      for await (const event of client!.watch<Pod>(refs.pods, {
        namespace: 'default',
        resourceVersion: list.metadata.resourceVersion ?? '',
        signal: abort.signal,
      })) {
        const name = event.object.metadata.name ?? '';
        if (names.has(name) && event.type !== 'BOOKMARK' && !isReady(event.object))
          flips.push(`${event.type} ${name} ${event.object.metadata.resourceVersion}`);
      }
    } catch (err) {
      if (!abort.signal.aborted) flips.push(`watch failed: ${(err as Error).message}`);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await watching;
      return flips;
    },
  };
}

test.serial('the agent registers the node and it turns Ready in kubectl get nodes', async (t) => {
  const node = await waitFor(
    async () => {
      const found = JSON.parse(await kubectl('get', 'node', 'node-1', '-o', 'json')) as Node;
      return found.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? found : undefined;
    },
    { what: 'node-1 Ready in the API', timeoutMs: 30_000 },
  );
  t.like(node.metadata.labels, {
    'kubernetes.io/hostname': 'node-1',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'bosun.test/role': 'worker',
  });
  t.deepEqual(node.status?.addresses, [
    { type: 'InternalIP', address: '172.30.0.11' },
    { type: 'Hostname', address: 'node-1' },
  ]);
  t.regex(node.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\/\d/);
  t.regex(node.status?.nodeInfo?.kubeletVersion ?? '', /^v\d+\.\d+\.\d+/);
  t.is(node.status?.capacity?.pods, '110');
  t.true(Number(node.status?.capacity?.cpu) >= 1);
  t.deepEqual(node.status?.conditions?.map((c) => `${c.type}=${c.status}`).sort(), [
    'DiskPressure=False',
    'MemoryPressure=False',
    'PIDPressure=False',
    'Ready=True',
  ]);
  t.true(
    (node.status?.images ?? []).some((i) => i.names?.includes(bedImages.pause)),
    'the image list names the pause image',
  );
  const table = await kubectl('get', 'nodes');
  t.regex(table, /^node-1\s+Ready\s/m);
  const healthz = await sandbox!
    .node('node-1')
    .run(['/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1:10248/healthz'], { timeoutMs: 10_000 });
  t.is(healthz.stdout.trim(), 'ok');
  // the agent re-executed itself (same PID) with a small young generation
  t.true(readFileSync(`/proc/${agent!.running!.pid}/cmdline`, 'utf8').split('\0').includes('--max-semi-space-size=1'));
});

test.serial("the proxy answers kube-proxy's /healthz and /metrics on port 10256 of every node address", async (t) => {
  const node = sandbox!.node('node-1');
  const fetchText = async (path: string) =>
    (await node.run(['/bin/busybox', 'wget', '-qO-', `http://${node.ip}:10256${path}`], { timeoutMs: 10_000 })).stdout;
  const health = await waitFor(
    async () => {
      const text = await fetchText('/healthz').catch(() => '');
      const parsed = (text.startsWith('{') ? JSON.parse(text) : {}) as {
        lastUpdated?: string | null;
        currentTime?: string;
      };
      return typeof parsed.lastUpdated === 'string' ? parsed : undefined;
    },
    { what: 'the proxy healthz on 10256 after a first sync', timeoutMs: 30_000 },
  );
  t.false(Number.isNaN(Date.parse(health.lastUpdated!)), health.lastUpdated!);
  t.false(Number.isNaN(Date.parse(health.currentTime!)), health.currentTime!);
  t.true(Date.parse(health.lastUpdated!) <= Date.parse(health.currentTime!) + 1_000);
  t.regex(await fetchText('/metrics'), /^kubeproxy_sync_proxy_rules_last_timestamp_seconds /m);
});

test.serial('a pod created with kubectl runs and shows Running, Ready and its IP', async (t) => {
  await kubectlCreate([podManifest('hello')]);
  await waitFor(async () => isReady(await getPod('hello')), { what: 'pod hello Ready', timeoutMs: 60_000 });
  const wide = await kubectl('get', 'pods', 'hello', '-o', 'wide');
  // the agent's conflist hands out addresses from the subnet the control plane gave the node
  const subnet = (await kubectl('get', 'node', 'node-1', '-o', 'jsonpath={.spec.podCIDR}')).replace(/\.0\/24$/, '');
  t.regex(
    wide,
    new RegExp(`^hello\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${subnet.replaceAll('.', '\\.')}\\.\\d+\\s+node-1\\s`, 'm'),
  );
});

test.serial(
  "the pod runs in its QoS class's pod cgroup under the agent's --cgroup-root, as the kubelet lays it out",
  async (t) => {
    const pod = await getPod('hello');
    t.is(pod?.status?.qosClass, 'BestEffort');
    const podCgroup = `${sandbox!.node('node-1').cgroupRoot}/kubepods/besteffort/pod${pod?.metadata.uid}`;
    const mounts = await hostCgroupMounts();
    const memory = mounts.find((m) => m.split('/').pop()!.split(',').includes('memory')) ?? mounts[0]!;
    // the pause container and the main container each have their own cgroup inside the pod's
    const children = readdirSync(join(memory, podCgroup), { withFileTypes: true }).filter((e) => e.isDirectory());
    t.true(
      children.length >= 2,
      `expected the sandbox's and the container's cgroups in ${podCgroup}, found ${children.map((c) => c.name).join(', ')}`,
    );
  },
);

test.serial('a pod the node does not fit is refused at admission: Failed with the reason, never started', async (t) => {
  await kubectlCreate([podManifest('misplaced', { nodeSelector: { 'bosun.test/role': 'gpu' } })]);
  const pod = await waitFor(
    async () => {
      const p = await getPod('misplaced');
      return p?.status?.phase === 'Failed' ? p : undefined;
    },
    { what: 'pod misplaced Failed', timeoutMs: 30_000 },
  );
  t.is(pod.status?.reason, 'NodeAffinity');
  t.regex(await kubectl('get', 'pod', 'misplaced'), /^misplaced\s+0\/1\s+NodeAffinity\s/m);
  t.is((await sandboxesOf(pod.metadata.uid!)).length, 0);
  await kubectl('delete', 'pod', 'misplaced', '--timeout=30s');
  t.is(await getPod('misplaced'), undefined);
});

test.serial(
  "a Service reaches its pod through the agent's proxy rules, and its name resolves through the agent's DNS",
  async (t) => {
    const web = podManifest('web');
    web.metadata.labels = { app: 'web-svc' };
    web.spec.containers = [
      {
        name: 'httpd',
        image: bedImages.busybox,
        command: [
          'sh',
          '-c',
          'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www',
        ],
      },
    ];
    await kubectlCreate([web]);
    const ready = await waitFor(
      async () => {
        const p = await getPod('web');
        return isReady(p) ? p : undefined;
      },
      { what: 'pod web Ready', timeoutMs: 60_000 },
    );
    // a Service without a selector and its EndpointSlice written by hand (a documented pattern):
    // what is tested is the agent's side, not the server's endpoints controller
    const objects = join(sandbox!.stateDir, 'web-service.yaml');
    writeFileSync(
      objects,
      [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
        },
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          addressType: 'IPv4',
          metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: [{ addresses: [ready.status!.podIP!], conditions: { ready: true }, nodeName: 'node-1' }],
        },
      ]
        .map((o) => yaml.dump(o))
        .join('---\n'),
    );
    await kubectl('create', '-f', objects);
    const clusterIP = (await kubectl('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    t.regex(clusterIP, /^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/);
    const node = sandbox!.node('node-1');
    // the node's namespace routes the service CIDR into the sink: only a DNAT rule of ours gets the packet to the pod
    // busybox nc, not wget: this host's static busybox wget crashes on remote addresses
    const page = await waitFor(
      async () => {
        const got = await node.run(['/bin/busybox', 'nc', '-w', '2', clusterIP, '80'], {
          input: `GET / HTTP/1.0\r\nHost: web\r\n\r\n`,
          timeoutMs: 10_000,
        });
        return got.code === 0 && got.stdout.includes(' 200 ') ? got.stdout : undefined;
      },
      { what: `http://${clusterIP}/ answered through the proxy rules`, timeoutMs: 30_000, intervalMs: 500 },
    );
    t.is(page.slice(page.indexOf('\r\n\r\n') + 4).trim(), 'hello-from-web');
    const answer = await waitFor(
      async () => {
        const got = await node.run(['/bin/busybox', 'nslookup', 'web.default.svc.cluster.local', node.ip], {
          timeoutMs: 10_000,
        });
        return got.stdout.includes(clusterIP) ? got.stdout : undefined;
      },
      { what: "web.default.svc.cluster.local resolved by the agent's DNS", timeoutMs: 20_000, intervalMs: 500 },
    );
    t.true(answer.includes(clusterIP));
    await kubectl('delete', '-f', objects);
    await kubectl('delete', 'pod', 'web', '--timeout=60s');
  },
);

async function sigkillAndRestart(t: ExecutionContext): Promise<void> {
  await agent!.kill();
  t.log('agent killed with SIGKILL');
  agent!.start();
  await agent!.ready();
}

test.serial(
  'SIGKILL in the middle of a pod start-up: after the restart one sandbox, nothing started twice',
  async (t) => {
    // the init container holds start-up for a moment; the kill lands while it runs
    await kubectlCreate([
      podManifest('midway', {
        initContainers: [{ name: 'setup', image: bedImages.busybox, command: ['sh', '-c', 'sleep 3'] }],
      }),
    ]);
    const uid = await waitFor(async () => (await getPod('midway'))?.metadata.uid, { what: 'pod midway in the API' });
    await waitFor(
      async () => {
        const containers = await cri!.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
        return containers.some((c) => c.metadata?.name === 'setup' && c.state === 'CONTAINER_RUNNING');
      },
      { what: 'the init container of midway running', timeoutMs: 60_000 },
    );
    await sigkillAndRestart(t);
    const pod = await waitFor(
      async () => {
        const p = await getPod('midway');
        return isReady(p) ? p : undefined;
      },
      { what: 'pod midway Ready after the restart', timeoutMs: 60_000 },
    );
    t.is((await sandboxesOf(uid)).length, 1, 'one sandbox');
    const containers = await cri!.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
    t.deepEqual(containers.map((c) => c.metadata?.name).sort(), ['app', 'setup'], 'each container created once');
    t.is(pod.status?.initContainerStatuses?.[0]?.restartCount, 0);
    t.is(pod.status?.containerStatuses?.[0]?.restartCount, 0);
  },
);

test.serial(
  'SIGKILL with 20 running pods: after the restart no container restarted and Ready never flipped',
  async (t) => {
    t.timeout(240_000);
    const names = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    await kubectlCreate(names.map((n) => podManifest(n)));
    await waitFor(
      async () => {
        const list = await client!.list<Pod>(refs.pods, { namespace: 'default' });
        return names.every((n) => isReady(list.items.find((p) => p.metadata.name === n)));
      },
      { what: '20 pods Ready', timeoutMs: 180_000, intervalMs: 500 },
    );
    const before = await containerFacts(names);
    const readySince = Object.fromEntries(
      await Promise.all(
        names.map(async (n) => [
          n,
          (await getPod(n))?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime,
        ]),
      ),
    );
    const watch = watchReadiness(new Set(names));
    await sigkillAndRestart(t);
    // proof that the new agent works through its pods: a pod created after the restart gets Ready
    await kubectlCreate([podManifest('after-restart')]);
    await waitFor(async () => isReady(await getPod('after-restart')), {
      what: 'pod after-restart Ready',
      timeoutMs: 60_000,
    });
    const flips = await watch.stop();
    t.deepEqual(flips, [], 'no pod was reported not Ready');
    t.deepEqual(await containerFacts(names), before, 'same container IDs, no restarts');
    for (const name of names) {
      const pod = await getPod(name);
      t.is(
        pod?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime,
        readySince[name],
        `${name} Ready since before the kill`,
      );
      t.is((await sandboxesOf(pod!.metadata.uid!)).length, 1, `${name}: one sandbox`);
    }
    await kubectl('delete', 'pods', '-l', 'app=agent-test', '--wait=false');
    await waitFor(async () => (await client!.list<Pod>(refs.pods, { namespace: 'default' })).items.length === 0, {
      what: 'all test pods gone',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
  },
);

test.serial('containerd restarted under a running pod: nothing is left in Created and the pod stays up', async (t) => {
  await kubectlCreate([podManifest('steady')]);
  await waitFor(async () => isReady(await getPod('steady')), { what: 'pod steady Ready', timeoutMs: 60_000 });
  const before = await containerFacts(['steady']);
  const node = sandbox!.node('node-1');
  await sandbox!.stopContainerd(node.name);
  // while containerd is down the node turns NotReady, with the runtime named as the reason
  const notReady = await waitFor(
    async () => {
      const found = await client!.get<Node>(refs.nodes, 'node-1');
      const ready = found.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'False' ? ready : undefined;
    },
    { what: 'node-1 NotReady while containerd is down', timeoutMs: 30_000 },
  );
  t.regex(notReady.message ?? '', /container runtime is down/);
  await sandbox!.startContainerd(node.name);
  await waitFor(
    async () => {
      const found = await client!.get<Node>(refs.nodes, 'node-1');
      return found.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { what: 'node-1 Ready again after containerd came back', timeoutMs: 30_000 },
  );
  // a pod started after the restart proves pods start again
  await kubectlCreate([podManifest('after-containerd')]);
  await waitFor(async () => isReady(await getPod('after-containerd')), {
    what: 'pod after-containerd Ready',
    timeoutMs: 60_000,
  });
  const fresh = new CriClient(node.criEndpoint);
  try {
    const created = (await fresh.listContainers()).filter((c) => c.state === 'CONTAINER_CREATED');
    t.deepEqual(
      created.map((c) => c.metadata?.name),
      [],
      'no container left in Created',
    );
  } finally {
    fresh.close();
  }
  t.deepEqual(await containerFacts(['steady']), before, 'the pod kept its container');
  t.true(isReady(await getPod('steady')));
});

test.serial('kubectl delete pod stops it and removes its sandbox', async (t) => {
  const pod = await getPod('steady');
  const uid = pod!.metadata.uid!;
  await kubectl('delete', 'pod', 'steady', '--timeout=60s');
  t.is(await getPod('steady'), undefined);
  await waitFor(async () => (await sandboxesOf(uid)).length === 0, {
    what: 'the sandbox of steady removed',
    timeoutMs: 30_000,
  });
  t.pass();
});

test.serial('SIGTERM stops the agent with exit 0 and leaves the containers running', async (t) => {
  const uid = (await getPod('after-containerd'))!.metadata.uid!;
  const result = await agent!.stop();
  t.deepEqual(result, { code: 0, signal: null });
  const containers = await cri!.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
  t.deepEqual(
    containers.map((c) => c.state),
    ['CONTAINER_RUNNING'],
  );
  const warnings = new Map<string, number>();
  for (const line of agent!.lines())
    if ((line.level ?? 0) >= 40) warnings.set(String(line.msg), (warnings.get(String(line.msg)) ?? 0) + 1);
  t.log(`agent warnings over the whole file: ${JSON.stringify(Object.fromEntries(warnings))}`);
});

test.serial(
  'start-up failures are one line and exit code 1; an API server that does not answer is waited for',
  async (t) => {
    const node = sandbox!.node('node-1');
    const runAgent = async (extra: string[]) => {
      const a = new AgentProcess(node, agent!.kubeconfig, ['--healthz-port', '0']);
      const started = a.start(extra);
      const { code } = await started.exited;
      a.close();
      const text = started.stderr().trim().split('\n');
      return { code, last: text[text.length - 1] ?? '' };
    };
    const noRuntime = await runAgent(['--container-runtime-endpoint', `unix://${join(node.stateDir, 'missing.sock')}`]);
    t.is(noRuntime.code, 1);
    t.regex(
      noRuntime.last,
      /^bosun: cannot reach the container runtime at unix:\/\/\S+missing\.sock .*start containerd, or pass --container-runtime-endpoint$/,
    );
    const noConfig = await runAgent(['--kubeconfig', join(node.stateDir, 'nothing.kubeconfig')]);
    t.is(noConfig.code, 1);
    t.regex(
      noConfig.last,
      /^bosun: kubeconfig \S+nothing\.kubeconfig does not exist; run bosun join on this node, or pass --kubeconfig$/,
    );
    // the same credentials, but a port on the hub address where nothing listens
    const closed = join(node.stateDir, 'closed.kubeconfig');
    writeFileSync(
      closed,
      readFileSync(agent!.kubeconfig, 'utf8').replace(/(server: https:\/\/172\.30\.0\.1:)\d+/, '$11'),
    );
    // an API server that does not answer (yet) is waited for, as the kubelet does: the agent stays
    // up, says why on each try, and stops cleanly when told to
    const waiting = new AgentProcess(node, agent!.kubeconfig, ['--healthz-port', '0']);
    const run = waiting.start(['--kubeconfig', closed]);
    const tries = () =>
      (
        readFileSync(waiting.logFile, 'utf8').match(
          /cannot reach the API server at https:\/\/172\.30\.0\.1:1 .*check that bosun server runs.*trying again/g,
        ) ?? []
      ).length;
    try {
      await waitFor(() => tries() >= 2, {
        what: 'the agent to say twice that it waits for the API server',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      t.truthy(waiting.running, 'still running while the API server does not answer');
      const stopped = await waiting.stop(10_000);
      t.is(stopped?.code, 0, `stops cleanly on SIGTERM (${run.stderr()})`);
    } finally {
      if (waiting.running) await waiting.kill();
      waiting.close();
    }
  },
);
