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
import { ControllerManager, type ControllerSpec } from './manager.ts';
import { garbageCollectors } from './garbage-collector.ts';
import { namespaceController } from './namespace.ts';
import { nodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle.ts';
import { serviceAccountController } from './serviceaccount.ts';
import { rootCaPublisher } from './root-ca-publisher.ts';
import { clusterRoleAggregationController } from './clusterrole-aggregation.ts';
import { tokenCleaner } from './token-cleaner.ts';
import { Scheduler } from '../scheduler/scheduler.ts';

interface ControlLoopsOptions {
  readonly client: ClusterClient;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Leave the scheduler out (another scheduler places pods). */
  readonly withoutScheduler?: boolean;
  /** Grace periods, monitor period and --cluster-cidr for the node lifecycle controller. */
  readonly nodeLifecycle?: NodeLifecycleOptions;
  /** The cluster CA (PEM) that every namespace's kube-root-ca.crt ConfigMap publishes; absent: not published. */
  readonly rootCaPem?: string;
  /** Replace the default set of controllers (tests run a subset). */
  readonly controllers?: readonly ControllerSpec[];
}

export interface RunningControlLoops {
  readonly scheduler: Scheduler | undefined;
  readonly manager: ControllerManager;
  stop(): Promise<void>;
}

export function defaultControllers(
  options: Pick<ControlLoopsOptions, 'nodeLifecycle' | 'rootCaPem'> = {},
): ControllerSpec[] {
  return [
    replicaSetController,
    replicationControllerController,
    deploymentController,
    jobController,
    cronJobController,
    endpointsController,
    daemonSetController,
    statefulSetController,
    claimBinderController,
    volumeController,
    disruptionController,
    nodeLifecycleController(options.nodeLifecycle),
    namespaceController,
    serviceAccountController,
    clusterRoleAggregationController,
    tokenCleaner,
    ...(options.rootCaPem !== undefined ? [rootCaPublisher(options.rootCaPem)] : []),
    ...garbageCollectors(),
  ];
}

/** The controllers alone (kube-controller-manager's part), started; stop() them when done. */
export async function startControllerManager(
  options: Omit<ControlLoopsOptions, 'withoutScheduler'>,
): Promise<ControllerManager> {
  const log = options.logger;
  const manager = new ControllerManager({
    client: options.client,
    controllers: options.controllers ?? defaultControllers(options),
    ...(options.clock ? { clock: options.clock } : {}),
    onError: (err, controller, key) => log?.warn({ err, controller, key }, 'controller pass failed; will retry'),
  });
  try {
    await manager.start();
  } catch (err) {
    await manager.stop();
    throw err;
  }
  return manager;
}

/** The scheduler alone (kube-scheduler's part), started; stop() it when done. */
export async function startScheduler(
  options: Pick<ControlLoopsOptions, 'client' | 'clock' | 'logger'>,
): Promise<Scheduler> {
  const scheduler = new Scheduler({
    client: options.client,
    ...(options.clock ? { clock: options.clock } : {}),
    onError: (err, what) => options.logger?.warn({ err, what }, 'scheduler'),
  });
  try {
    await scheduler.start();
  } catch (err) {
    await scheduler.stop();
    throw err;
  }
  return scheduler;
}

export async function startControlLoops(options: ControlLoopsOptions): Promise<RunningControlLoops> {
  const log = options.logger;
  const controllers = options.controllers ?? defaultControllers(options);
  let manager: ControllerManager | undefined;
  let scheduler: Scheduler | undefined;
  try {
    manager = await startControllerManager({ ...options, controllers });
    scheduler = options.withoutScheduler ? undefined : await startScheduler(options);
  } catch (err) {
    await manager?.stop();
    throw new Error(`starting the control loops: ${(err as Error).message}`, { cause: err });
  }
  log?.info(
    { controllers: controllers.map((c) => c.name), scheduler: scheduler !== undefined },
    'control loops running',
  );
  let stopping: Promise<void> | undefined;
  const running = manager;
  return {
    scheduler,
    manager,
    stop: () => (stopping ??= Promise.all([scheduler?.stop(), running.stop()]).then(() => undefined)),
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
    loops = await startControlLoops({ ...options, client: new KubeClusterClient(http) });
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
