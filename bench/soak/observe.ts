/**
 * Observers: read the cluster as it is (API, each node's runtime over CRI, iptables-save inside
 * each node's namespace, the host's mount table, /proc) and hand the invariant checkers plain data.
 * They read only; a failed read becomes a problem, never an exception.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../host/process/run.ts';
import type { Sandbox, SandboxNode } from '../../sandbox/sandbox.ts';
import { CriClient } from '../../cri/client.ts';
import { criLabel } from '../../agent/pods/cri-labels.ts';
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { ConfigMap, Pod } from '../../kube/corev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { NodeRuntimeState, RuntimeContainer, RuntimeSandbox, ServiceProbe } from './invariants.ts';
import { loadLabel } from './load.ts';
import { soakNamespace } from './workload.ts';

export async function listPods(client: KubeClient): Promise<Pod[]> {
  return (await client.list<Pod>(refs.pods)).items;
}

/** The counter each load ConfigMap holds now. */
export async function storedCounters(client: KubeClient): Promise<Map<string, number | undefined>> {
  const list = await client.list<ConfigMap>(refs.configmaps, {
    namespace: soakNamespace,
    labelSelector: Object.entries(loadLabel)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  return new Map(
    list.items.map((cm) => [cm.metadata.name!, cm.data?.counter === undefined ? undefined : Number(cm.data.counter)]),
  );
}

async function runtimeOf(node: SandboxNode): Promise<{ sandboxes: RuntimeSandbox[]; containers: RuntimeContainer[] }> {
  const cri = new CriClient(node.criEndpoint);
  try {
    const deadline = { timeoutMs: 10_000 };
    const [sandboxes, containers] = await Promise.all([
      cri.listPodSandbox(undefined, deadline),
      cri.listContainers(undefined, deadline),
    ]);
    return {
      sandboxes: sandboxes.map((s) => ({
        id: s.id,
        podUid: s.labels[criLabel.podUid] ?? '',
        podName: s.labels[criLabel.podName] ?? '',
        ready: s.state === 'SANDBOX_READY',
      })),
      containers: containers.map((c) => ({
        id: c.id,
        podUid: c.labels[criLabel.podUid] ?? '',
        name: c.labels[criLabel.containerName] ?? '',
        running: c.state === 'CONTAINER_RUNNING',
      })),
    };
  } finally {
    cri.close();
  }
}

/** Mount points under `dir`, from the host's mount table (the nodes share the host's mount namespace). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
}

/** Each node's sandboxes, containers, iptables and mounts, beside the pods the API binds to it. */
export async function nodeStates(sandbox: Sandbox, pods: readonly Pod[]): Promise<NodeRuntimeState[]> {
  return await Promise.all(
    sandbox.nodes.map(async (node) => {
      const [runtime, iptables] = await Promise.all([
        runtimeOf(node),
        node.run(['iptables-save'], { timeoutMs: 10_000 }),
      ]);
      if (iptables.code !== 0) throw new Error(`iptables-save on ${node.name}: ${iptables.stderr.trim()}`);
      return {
        node: node.name,
        podUids: new Set(
          pods
            .filter((p) => p.spec?.nodeName === node.name && p.metadata.uid !== undefined)
            .map((p) => p.metadata.uid!),
        ),
        ...runtime,
        iptablesSave: iptables.stdout,
        mountPoints: mountsUnder(node.stateDir),
        podsDir: join(node.stateDir, 'agent', 'pods'),
        criStateDir: node.layout.state,
      };
    }),
  );
}

/** VmRSS of a process in KiB, or undefined when it does not run. */
export function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? undefined : Number(line.split(/\s+/)[1]);
  } catch {
    return undefined;
  }
}

type ServiceObject = KubeObject & { spec?: { clusterIP?: string; selector?: Record<string, string> } };

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Requests each Service's cluster IP from a pod (busybox wget, run in the pod's container through
 * the node's containerd, so the probe needs neither kubectl nor the kubelet port), choosing a
 * client on another node than some Ready backend, until one answer comes from a pod on another
 * node or `attempts` requests were made. The service CIDR is routed into the sandbox's sink on
 * every node, so a request no rule rewrote stays on the machine.
 */
export async function probeServices(
  client: KubeClient,
  sandbox: Sandbox,
  services: readonly string[],
  pods: readonly Pod[],
  attempts = 4,
): Promise<ServiceProbe[]> {
  const probes: ServiceProbe[] = [];
  const live = pods.filter(
    (p) =>
      p.metadata.namespace === soakNamespace &&
      p.metadata.deletionTimestamp === undefined &&
      isReady(p) &&
      p.spec?.nodeName !== undefined,
  );
  const nodeOf = new Map(live.map((p) => [p.metadata.name!, p.spec!.nodeName!]));
  for (const name of services) {
    const service = await client.get<ServiceObject>(refs.services, name, soakNamespace);
    const selector = service.spec?.selector ?? {};
    const backendNodes = new Set(
      live
        .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
        .map((p) => p.spec!.nodeName!),
    );
    const clients = live.filter(
      (p) =>
        [...backendNodes].some((n) => n !== p.spec!.nodeName) &&
        p.status?.containerStatuses?.[0]?.containerID !== undefined,
    );
    for (let i = 0; i < attempts && clients.length > 0; i++) {
      const clientPod = clients[i % clients.length]!;
      const node = sandbox.node(clientPod.spec!.nodeName!);
      const containerId = clientPod.status!.containerStatuses![0]!.containerID!.replace(/^[a-z]+:\/\//, '');
      const probe: ServiceProbe = { service: name, clientPod: clientPod.metadata.name!, clientNode: node.name };
      // busybox's own wget -T crashes here: busybox timeout bounds the request instead
      const argv = [
        'ctr',
        '--address',
        node.layout.socket,
        '-n',
        'k8s.io',
        'tasks',
        'exec',
        '--exec-id',
        `soak-probe-${process.pid}-${probeCount++}`,
        containerId,
        'timeout',
        '5',
        'wget',
        '-q',
        '-O',
        '-',
        `http://${service.spec?.clusterIP}/`,
      ];
      const result = await run(argv, { timeoutMs: 15_000 }).catch((err: Error) => ({
        code: 1,
        stdout: '',
        stderr: err.message,
      }));
      if (result.code === 0) {
        probe.answeredBy = result.stdout.trim();
        const answerNode = nodeOf.get(probe.answeredBy);
        if (answerNode !== undefined) probe.answerNode = answerNode;
      } else {
        probe.error = result.stderr.trim().split('\n').at(-1) || `exit ${result.code}`;
      }
      probes.push(probe);
      if (probe.answerNode !== undefined && probe.answerNode !== probe.clientNode) break;
    }
  }
  return probes;
}

let probeCount = 0;
