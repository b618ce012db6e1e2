/**
 * The entry point `bosun server` calls: the scheduler and the controllers, running against the API
 * through a ClusterClient. Start-up reads as a script: build, start the controllers' caches, start
 * the scheduler's, report ready. `stop()` is graceful and idempotent.
 */
import type { Logger } from 'pino';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import type { Clock } from '../../kube/clock.ts';
import type { ClusterClient } from './client.ts';
import { KubeClusterClient } from './kube-cluster-client.ts';
import {
  cronJobController,
  daemonSetController,
  deploymentController,
  disruptionController,
  endpointsController,
  jobController,
  replicaSetController,
  replicationControllerController,
  statefulSetController,
} from './definitions.ts';
import { claimBinderController, volumeController } from './volume-controllers.ts';
import { ingressStatusController } from './ingress-status.ts';
import { ControllerManager, type ControllerSpec } from './manager.ts';
import { garbageCollectors } from './garbage-collector.ts';
import { namespaceController } from './namespace.ts';
import { nodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle.ts';
import { serviceAccountController } from './serviceaccount.ts';
import { rootCaPublisher } from './root-ca-publisher.ts';
import { clusterRoleAggregationController } from './clusterrole-aggregation.ts';
import { tokenCleaner } from './token-cleaner.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { apiListWatch } from '../../kube/informer.ts';
import { eventRecorder } from './events.ts';
import { apiAutoscalerSeam, autoscalersRef, fencedAutoscalerSeam } from './hpa/api.ts';
import { type AutoscalerOptions, HorizontalPodAutoscalerController } from './hpa/controller.ts';
import { loadBalancerController } from './load-balancer-controller.ts';
import type { AddressPool } from './load-balancer-addresses.ts';

interface ControlLoopsOptions {
  readonly client: ClusterClient;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Leave the scheduler out (another scheduler places pods). */
  readonly withoutScheduler?: boolean;
  /** The scheduler's own client (its User-Agent names it in audit events); absent: `client`. */
  readonly schedulerClient?: ClusterClient;
  /** Grace periods, monitor period and --cluster-cidr for the node lifecycle controller. */
  readonly nodeLifecycle?: NodeLifecycleOptions;
  /** The cluster CA (PEM) that every namespace's kube-root-ca.crt ConfigMap publishes; absent: not published. */
  readonly rootCaPem?: string;
  /** --lb-address-pool: LoadBalancer Services get an address from it instead of node addresses. */
  readonly loadBalancerPool?: AddressPool;
  /** Replace the default set of controllers (tests run a subset). */
  readonly controllers?: readonly ControllerSpec[];
  /**
   * The API over HTTP, for the loops that need more of it than a ClusterClient gives (the
   * horizontal pod autoscaler's scale subresources, metrics.k8s.io); absent: those do not run.
   */
  readonly http?: KubeClient;
  /** The --horizontal-pod-autoscaler-* settings; absent: upstream's defaults. */
  readonly horizontalPodAutoscaler?: Partial<AutoscalerOptions>;
  /**
   * Under leader election: throws once this process no longer leads, checked before the writes
   * that go through `http` rather than the (already fenced) `client`.
   */
  readonly writeFence?: () => void;
}

export interface RunningControlLoops {
  readonly scheduler: Scheduler | undefined;
  readonly manager: ControllerManager;
  stop(): Promise<void>;
}

export function defaultControllers(
  options: Pick<ControlLoopsOptions, 'nodeLifecycle' | 'rootCaPem' | 'loadBalancerPool'> = {},
): ControllerSpec[] {
  return [
    replicaSetController,
    replicationControllerController,
    deploymentController,
    jobController,
    cronJobController,
    endpointsController,
    loadBalancerController(options.loadBalancerPool),
    daemonSetController,
    statefulSetController,
    claimBinderController,
    volumeController,
    disruptionController,
    nodeLifecycleController(options.nodeLifecycle),
    namespaceController,
    serviceAccountController,
    clusterRoleAggregationController,
    ingressStatusController,
    tokenCleaner,
    ...(options.rootCaPem !== undefined ? [rootCaPublisher(options.rootCaPem)] : []),
    ...garbageCollectors(),
  ];
}

interface StartSignal {
  /**
   * Aborted when the caller no longer wants it started (leadership lost, the server stopping): the
   * wait for its caches ends then, where a cache that cannot fill (the datastore unreachable) would
   * otherwise hold the caller, and a graceful stop of the server, forever.
   */
  readonly signal?: AbortSignal;
}

/** Starts `loops`; stopped and thrown away when it fails or `signal` aborts first. */
async function startOrAbandon(
  loops: { start(): Promise<void>; stop(): Promise<void> },
  signal: AbortSignal | undefined,
): Promise<void> {
  // stopping ends the informers, which ends the wait for them to sync
  const abandon = () => void loops.stop();
  signal?.addEventListener('abort', abandon, { once: true });
  try {
    await loops.start();
  } catch (err) {
    await loops.stop();
    throw err;
  } finally {
    signal?.removeEventListener('abort', abandon);
  }
  if (signal?.aborted) {
    await loops.stop();
    throw new Error('stopped before its caches were filled');
  }
}

/** The controllers of kube-controller-manager, running: stop() ends them all. */
interface RunningControllers {
  readonly manager: ControllerManager;
  stop(): Promise<void>;
}

/**
 * The controllers alone (kube-controller-manager's part), started; stop() them when done. With the
 * API over HTTP the horizontal pod autoscaler runs too (upstream's controller manager runs it).
 */
export async function startControllerManager(
  options: Omit<ControlLoopsOptions, 'withoutScheduler'> & StartSignal,
): Promise<RunningControllers> {
  const log = options.logger;
  const manager = new ControllerManager({
    client: options.client,
    controllers: options.controllers ?? defaultControllers(options),
    ...(options.clock ? { clock: options.clock } : {}),
    onError: (err, controller, key) => log?.warn({ err, controller, key }, 'controller pass failed; will retry'),
  });
  await startOrAbandon(manager, options.signal);
  const autoscalers = options.http === undefined ? undefined : autoscalerLoop(options, options.http);
  let stopping: Promise<void> | undefined;
  return {
    manager,
    stop: () => (stopping ??= Promise.all([manager.stop(), autoscalers?.stop()]).then(() => undefined)),
  };
}

/** The scheduler alone (kube-scheduler's part), started; stop() it when done. */
export async function startScheduler(
  options: Pick<ControlLoopsOptions, 'client' | 'clock' | 'logger'> & StartSignal,
): Promise<Scheduler> {
  const scheduler = new Scheduler({
    client: options.client,
    ...(options.clock ? { clock: options.clock } : {}),
    onError: (err, what) => options.logger?.warn({ err, what }, 'scheduler'),
  });
  await startOrAbandon(scheduler, options.signal);
  return scheduler;
}

export async function startControlLoops(options: ControlLoopsOptions): Promise<RunningControlLoops> {
  const log = options.logger;
  const controllers = options.controllers ?? defaultControllers(options);
  let controllersRunning: RunningControllers | undefined;
  let scheduler: Scheduler | undefined;
  try {
    controllersRunning = await startControllerManager({ ...options, controllers });
    scheduler = options.withoutScheduler
      ? undefined
      : await startScheduler({ ...options, client: options.schedulerClient ?? options.client });
  } catch (err) {
    await controllersRunning?.stop();
    throw new Error(`starting the control loops: ${(err as Error).message}`, { cause: err });
  }
  log?.info(
    { controllers: controllers.map((c) => c.name), scheduler: scheduler !== undefined },
    'control loops running',
  );
  let stopping: Promise<void> | undefined;
  const running = controllersRunning;
  return {
    scheduler,
    manager: running.manager,
    stop: () => (stopping ??= Promise.all([scheduler?.stop(), running.stop()]).then(() => undefined)),
  };
}

/** The horizontal pod autoscaler controller, running until stop(). */
function autoscalerLoop(options: ControlLoopsOptions, http: KubeClient): { stop(): Promise<void> } {
  const log = options.logger;
  const abort = new AbortController();
  const controller = new HorizontalPodAutoscalerController({
    seam: fencedAutoscalerSeam(
      apiAutoscalerSeam(http, eventRecorder(options.client, 'horizontal-pod-autoscaler', options.clock)),
      options.writeFence,
    ),
    autoscalers: apiListWatch(http, autoscalersRef),
    ...(options.horizontalPodAutoscaler ? { options: options.horizontalPodAutoscaler } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    onError: (err, key) => log?.warn({ err, controller: 'horizontal-pod-autoscaler', key }, 'autoscaler pass failed'),
  });
  const running = controller.run(abort.signal);
  return {
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

/**
 * The control loops of a `bosun server`, talking to it over HTTPS with the identity in
 * `kubeconfigPath` (the server's admin.kubeconfig until the loops get identities of their own),
 * as a separate kube-controller-manager would. `stop()` also closes the connections.
 */
export async function startControlLoopsWithKubeconfig(
  kubeconfigPath: string,
  options: Omit<ControlLoopsOptions, 'client'> = {},
): Promise<RunningControlLoops> {
  // the scheduler and every controller share it: more connections than one agent's
  const http = new KubeClient({ ...loadKubeconfig(kubeconfigPath).client, maxConnections: 64 });
  let loops: RunningControlLoops;
  try {
    loops = await startControlLoops({ ...options, client: new KubeClusterClient(http), http });
  } catch (err) {
    http.close();
    throw err;
  }
  return {
    scheduler: loops.scheduler,
    manager: loops.manager,
    stop: async () => {
      await loops.stop();
      http.close();
    },
  };
}
