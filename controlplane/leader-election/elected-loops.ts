/**
 * The scheduler and the controllers of one server under leader election: each campaigns for its
 * own Lease (kube-system/kube-scheduler, kube-system/kube-controller-manager) with one identity per
 * process, as upstream's two components do, and runs only while it leads. Standby servers keep
 * serving the API; only these loops wait.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../kube/clock.ts';
import type { ClusterClient } from '../controllers/client.ts';
import { startControllerManager, startScheduler } from '../controllers/control-loops.ts';
import type { LeaderElectionTimings } from './election-config.ts';
import { ElectedComponent } from './elected-component.ts';
import type { LeaseClient } from './leader-elector.ts';

interface ElectedLoopsOptions {
  readonly identity: string;
  readonly timings: LeaderElectionTimings;
  readonly leases: LeaseClient;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly controllers: {
    readonly client: ClusterClient;
    readonly options: Pick<
      Parameters<typeof startControllerManager>[0],
      'rootCaPem' | 'nodeLifecycle' | 'http' | 'horizontalPodAutoscaler' | 'loadBalancerPool'
    >;
  };
  /** The scheduler's client; absent: no scheduler (--no-scheduler). */
  readonly scheduler?: ClusterClient;
}

interface ElectedLoops {
  readonly components: readonly ElectedComponent[];
  /** Resolves once every component finished its first attempt (leading, or standing by). */
  readonly firstRound: Promise<void>;
  /** Stops the components and gives up the leases held; idempotent. */
  stop(): Promise<void>;
}

export function startElectedLoops(options: ElectedLoopsOptions): ElectedLoops {
  const { identity, timings, leases, clock, logger } = options;
  const common = { identity, timings, leases, clock, ...(logger ? { logger } : {}) };
  const components = [
    new ElectedComponent({
      ...common,
      lease: 'kube-controller-manager',
      client: options.controllers.client,
      start: (client, signal, fence) =>
        startControllerManager({
          ...options.controllers.options,
          client,
          writeFence: fence,
          clock,
          signal,
          ...(logger ? { logger } : {}),
        }),
    }),
    ...(options.scheduler
      ? [
          new ElectedComponent({
            ...common,
            lease: 'kube-scheduler',
            client: options.scheduler,
            start: (client, signal) => startScheduler({ client, clock, signal, ...(logger ? { logger } : {}) }),
          }),
        ]
      : []),
  ];
  const stop = new AbortController();
  const running = components.map((c) => c.run(stop.signal));
  let stopping: Promise<void> | undefined;
  return {
    components,
    firstRound: Promise.all(components.map((c) => c.elector.firstRound)).then(() => undefined),
    stop: () => {
      stop.abort();
      return (stopping ??= Promise.all(running).then(() => undefined));
    },
  };
}
