/**
 * Upstream's lease endpoint reconciler, in every server: renew this server's own lease
 * (apiserver-lease.ts) every interval (10 s; the lease lasts 15 s), then make the `kubernetes`
 * Service's Endpoints and EndpointSlices list exactly the servers whose leases are alive
 * (live-servers.ts, kubernetes-endpoints.ts). Every server writes the same answer, and only when it
 * differs from what is stored, so several servers agree without coordination; a server that died
 * leaves the endpoints within its lease time, one that stops gracefully at once (`leave`).
 *
 * The server writes through its registry, as it writes the objects every cluster starts with.
 */
import type { Logger } from 'pino';
import { pause, type Clock } from '../../kube/clock.ts';
import type { Lease } from '../../kube/corev1.ts';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource } from '../api/resources.ts';
import {
  apiserverLeaseName,
  apiserverLeaseNamespace,
  desiredApiserverLease,
  identityLabel,
  identityLabelValue,
  type ApiServerIdentity,
} from './apiserver-lease.ts';
import { desiredEndpoints, desiredSlices, kubernetesServiceName, serviceNameLabel } from './kubernetes-endpoints.ts';
import { liveServers, type LiveServer, type RenewalsSeen } from './live-servers.ts';

export interface ApiServerLeaseTimings {
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
}

/** Upstream's master endpoint reconcile interval (10 s) and endpoint lease TTL (15 s). */
export const defaultApiServerLeaseTimings: ApiServerLeaseTimings = { leaseDurationMs: 15_000, renewIntervalMs: 10_000 };

interface ReconcilerOptions {
  readonly registry: Registry;
  readonly identity: ApiServerIdentity;
  readonly timings: ApiServerLeaseTimings;
  readonly clock: Clock;
  readonly logger?: Logger;
}

const leases = findResource('coordination.k8s.io', 'v1', 'leases')!;
const endpoints = findResource('', 'v1', 'endpoints')!;
const slices = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;

function notFound(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'NotFound';
}

export class ApiServerEndpointReconciler {
  readonly #options: ReconcilerOptions;
  #seen: RenewalsSeen = new Map();

  constructor(options: ReconcilerOptions) {
    this.#options = options;
  }

  get leaseName(): string {
    return apiserverLeaseName(this.#options.identity);
  }

  /** Renews this server's lease (creating it when missing), then reconciles the endpoints. */
  async renewAndReconcile(): Promise<LiveServer[]> {
    await this.#renew();
    return this.reconcile();
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger, timings } = this.#options;
    while (!signal.aborted) {
      await pause(clock, timings.renewIntervalMs, signal);
      if (signal.aborted) return;
      try {
        await this.renewAndReconcile();
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'could not renew the API server lease or its endpoints');
      }
    }
  }

  /** On a graceful stop: drops this server's lease and takes it out of the endpoints at once. */
  async leave(): Promise<void> {
    try {
      await this.#options.registry.delete(leases, apiserverLeaseNamespace, this.leaseName);
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    await this.reconcile();
  }

  /** Writes the endpoints of the servers alive now, where they differ from what is stored. */
  async reconcile(): Promise<LiveServer[]> {
    const { registry, clock } = this.#options;
    const all = (await registry.list(leases, apiserverLeaseNamespace)).items as Lease[];
    const ours = all.filter((l) => l.metadata.labels?.[identityLabel] === identityLabelValue);
    const judged = liveServers(ours, this.#seen, clock.now());
    this.#seen = judged.seen;
    await this.#write(desiredEndpoints(judged.live), (o) => JSON.stringify(o.subsets ?? []));
    const wanted = desiredSlices(judged.live);
    for (const slice of wanted)
      await this.#write(slice, (o) => JSON.stringify([o.addressType, o.endpoints ?? [], o.ports ?? []]));
    const stored = (await registry.list(slices, 'default')).items.filter(
      (s) => s.metadata.labels?.[serviceNameLabel] === kubernetesServiceName,
    );
    for (const stale of stored) {
      if (wanted.some((w) => w.metadata.name === stale.metadata.name)) continue;
      await registry.delete(slices, 'default', stale.metadata.name ?? '').catch((err: unknown) => {
        if (!notFound(err)) throw err;
      });
    }
    return judged.live;
  }

  async #renew(): Promise<void> {
    const { registry, identity, timings, clock } = this.#options;
    const seconds = Math.max(1, Math.round(timings.leaseDurationMs / 1000));
    try {
      await registry.guaranteedUpdate(leases, apiserverLeaseNamespace, this.leaseName, undefined, (current) =>
        desiredApiserverLease(current as Lease, identity, seconds, clock.now()),
      );
    } catch (err) {
      if (!notFound(err)) throw err;
      await registry.create(
        leases,
        apiserverLeaseNamespace,
        desiredApiserverLease(undefined, identity, seconds, clock.now()),
      );
    }
  }

  /** Creates `desired`, or replaces the stored object when `content` of the two differs. */
  async #write(desired: KubeObject, content: (o: KubeObject) => string): Promise<void> {
    const { registry } = this.#options;
    const info = desired.kind === 'Endpoints' ? endpoints : slices;
    const name = desired.metadata.name ?? '';
    try {
      await registry.guaranteedUpdate(info, 'default', name, undefined, (current) =>
        content(current) === content(desired)
          ? current
          : { ...desired, metadata: { ...current.metadata, labels: desired.metadata.labels } },
      );
    } catch (err) {
      if (!notFound(err)) throw err;
      await registry.create(info, 'default', desired).catch((created: unknown) => {
        // another server created it a moment ago: its answer is the same
        if (!(created instanceof ApiError && created.reason === 'AlreadyExists')) throw created;
      });
    }
  }
}
