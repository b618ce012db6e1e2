/**
 * One `bosun server` in the test process with its scheduler and controllers, two Node objects and
 * a fake kubelet that runs bound pods, driven by real kubectl: the bed for tests of API semantics
 * that need the control loops (deletion, namespaces, validation). One bed per test file.
 *
 * Each node renews its Lease with the agent's own heartbeat (agent/node/lease.ts), as a live node
 * does: without it the node lifecycle controller finds the nodes silent once the grace period
 * (50 s) has passed, sets them Unknown, marks their pods not ready and taints them, and whatever a
 * test still runs after that sees a cluster whose nodes have died.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { KubeClient } from '../../kube/client.ts';
import type { Node } from '../../kube/corev1.ts';
import {
  startControlLoopsWithKubeconfig,
  type RunningControlLoops,
} from '../../controlplane/controllers/control-loops.ts';
import { KubeClusterClient } from '../../controlplane/controllers/kube-cluster-client.ts';
import type { AutoscalerOptions } from '../../controlplane/controllers/hpa/controller.ts';
import type { NodeLifecycleOptions } from '../../controlplane/controllers/node-lifecycle.ts';
import { NodeLease } from '../../agent/node/lease.ts';
import { kubeLeaseApi } from '../../agent/node/kube-lease-api.ts';
import { systemClock } from '../../kube/clock.ts';
import type { RunResult } from '../../host/process/run.ts';
import { kubectl as runKubectl } from '../bed/kubectl.ts';
import { startInProcess, type InProcessServer } from './in-process.ts';
import { node } from './scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './controllers/fake-kubelet.ts';

interface KubectlBed {
  readonly server: InProcessServer;
  readonly client: KubeClient;
  readonly api: KubeClusterClient;
  /** Runs kubectl (or another kubectl binary) against the server; never throws. */
  kubectl(args: readonly string[], options?: { binary?: string; stdin?: string }): Promise<RunResult>;
  /** Runs kubectl, asserts it succeeded, and returns its output. */
  ok(t: ExecutionContext, ...args: string[]): Promise<string>;
  /** Writes a manifest into the bed's folder and returns its path. */
  file(name: string, content: string): string;
  close(): Promise<void>;
}

interface KubectlBedOptions {
  readonly controllers?: boolean;
  /** The autoscaler controller's timings (a short sync period for tests); absent: upstream's. */
  readonly horizontalPodAutoscaler?: Partial<AutoscalerOptions>;
  /** The node lifecycle controller's timings (a short grace for tests); absent: upstream's. */
  readonly nodeLifecycle?: NodeLifecycleOptions;
  /** How often each node renews its Lease; absent: the agent's 10 s. */
  readonly leaseRenewIntervalMs?: number;
}

/** Renews each node's Lease until stopped, as the nodes' agents would. */
function renewNodeLeases(client: KubeClient, nodes: readonly Node[], renewIntervalMs: number | undefined) {
  const abort = new AbortController();
  const running = nodes.map((node) =>
    new NodeLease({
      api: kubeLeaseApi(client),
      nodeName: node.metadata.name ?? '',
      nodeUid: node.metadata.uid,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      ...(renewIntervalMs !== undefined ? { renewIntervalMs } : {}),
    }).run(abort.signal),
  );
  return {
    stop: async () => {
      abort.abort();
      await Promise.all(running);
    },
  };
}

async function startKubectlBed(options: KubectlBedOptions = {}): Promise<KubectlBed> {
  const dir = mkdtempSync(join(tmpdir(), `bosun-kbed-${process.pid}-`));
  const server = await startInProcess();
  const client = new KubeClient(server.admin);
  const api = new KubeClusterClient(client);
  // the heartbeat has its own connection, as the agent's has: a busy test client never delays it
  const leaseClient = new KubeClient(server.admin);
  let leases: { stop(): Promise<void> } | undefined;
  let kubelet: FakeKubelet | undefined;
  let loops: RunningControlLoops | undefined;
  const close = async () => {
    await loops?.stop();
    kubelet?.stop();
    await leases?.stop();
    leaseClient.close();
    client.close();
    await server.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes: Node[] = [];
    for (const name of ['node-a', 'node-b']) {
      const { status, ...rest } = node(name, { cpu: '4', memory: '8Gi' });
      const created = (await api.create('nodes', {
        ...rest,
        metadata: { name, labels: rest.metadata.labels },
      })) as Node;
      nodes.push(created);
      await api.updateStatus('nodes', { ...created, status });
    }
    leases = renewNodeLeases(leaseClient, nodes, options.leaseRenewIntervalMs);
    if (options.controllers !== false) {
      kubelet = await startFakeKubelet(api);
      loops = await startControlLoopsWithKubeconfig(server.server.kubeconfigPath, {
        logger: pino({ level: 'silent' }),
        ...(options.horizontalPodAutoscaler ? { horizontalPodAutoscaler: options.horizontalPodAutoscaler } : {}),
        ...(options.nodeLifecycle ? { nodeLifecycle: options.nodeLifecycle } : {}),
      });
    }
  } catch (err) {
    await close();
    throw err;
  }
  const kubectl: KubectlBed['kubectl'] = (args, opts = {}) =>
    runKubectl(
      { kubeconfig: server.server.kubeconfigPath, binary: opts.binary, input: opts.stdin, timeoutMs: 90_000 },
      args,
    );
  return {
    server,
    client,
    api,
    kubectl,
    ok: async (t, ...args) => {
      const result = await kubectl(args);
      t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    },
    file: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    close,
  };
}

/**
 * One bed shared by the tests of a file: started in test.before, closed in test.after.always
 * (also when tests fail). The returned object may be used only inside tests.
 */
export function useKubectlBed(options: KubectlBedOptions = {}): KubectlBed {
  let started: KubectlBed | undefined;
  test.before(async () => {
    started = await startKubectlBed(options);
  });
  test.after.always(async () => {
    await started?.close();
  });
  const current = (): KubectlBed => {
    if (started === undefined) throw new Error('the kubectl bed is not started: use it inside tests');
    return started;
  };
  return {
    get server() {
      return current().server;
    },
    get client() {
      return current().client;
    },
    get api() {
      return current().api;
    },
    kubectl: (args, opts) => current().kubectl(args, opts),
    ok: (t, ...args) => current().ok(t, ...args),
    file: (name, content) => current().file(name, content),
    close: () => current().close(),
  };
}
