/**
 * The cluster's Services as this node serves them: one informer each on Services, EndpointSlices
 * and the node's own Node, feeding the service proxy (iptables or IPVS rules) and the node-local
 * DNS server's zone. Either consumer may be absent (--proxy-mode none, no --cluster-dns-serve);
 * with neither, nothing is watched.
 *
 * Lifecycle: the constructor does nothing; start() starts the informers and the proxy's loop;
 * synced resolves after the first lists; stop() ends the informers (the proxy stops with the
 * signal given to start). The rules stay in place when the agent stops, as kube-proxy's do.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { apiListWatch, Informer } from '../kube/informer.ts';
import { refs } from '../kube/resource-ref.ts';
import type { KubeObject } from '../kube/types.ts';
import type { ServiceProxy } from '../netproxy/service-proxy.ts';
import type { Node, Service } from '../kube/corev1.ts';
import type { EndpointSlice } from '../kube/discoveryv1.ts';
import type { DnsServer } from './dns/server.ts';
import { buildZoneIndex, type DnsEndpointSlice } from './dns/records.ts';
import { dnsEndpointSlice, dnsService } from './dns/from-kube.ts';
import { nodeLocalDnsSlice, type NodeLocalDns } from './dns/node-local-endpoint.ts';

interface ClusterServicesOptions {
  client: KubeClient;
  nodeName: string;
  zone: string;
  log: Logger;
  proxy?: ServiceProxy;
  dns?: DnsServer;
  /** With both proxy and dns: route the cluster DNS IP to this node's DNS server (node-local-endpoint.ts). */
  nodeLocalDns?: NodeLocalDns;
  /** Rebuild the DNS zone at most this often (default 100 ms): a burst of changes costs one rebuild. */
  zoneDelayMs?: number;
  /** Told of every Service change (with a proxy): the load-balancer addresses follow them. */
  onServiceChange?: () => void;
}

export class ClusterServices {
  readonly #options: ClusterServicesOptions;
  readonly #services: Informer<KubeObject>;
  readonly #slices: Informer<KubeObject>;
  readonly #node: Informer<KubeObject>;
  #zoneTimer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(options: ClusterServicesOptions) {
    this.#options = options;
    this.#services = new Informer(apiListWatch(options.client, refs.services));
    this.#slices = new Informer(apiListWatch(options.client, refs.endpointslices));
    this.#node = new Informer(
      apiListWatch(options.client, refs.nodes, { fieldSelector: `metadata.name=${options.nodeName}` }),
    );
  }

  get enabled(): boolean {
    return this.#options.proxy !== undefined || this.#options.dns !== undefined;
  }

  get synced(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return Promise.all([
      this.#services.synced,
      this.#slices.synced,
      ...(this.#options.proxy ? [this.#node.synced] : []),
    ]).then(() => undefined);
  }

  start(signal: AbortSignal): void {
    if (!this.enabled || this.#running) return;
    const { proxy, dns } = this.#options;
    const asService = (o: KubeObject) => o as unknown as Service;
    const asSlice = (o: KubeObject) => o as unknown as EndpointSlice;
    const asNode = (o: KubeObject) => o as unknown as Node;
    if (proxy) {
      const local = dns ? this.#options.nodeLocalDns : undefined;
      // The cluster DNS Service's proxy-only endpoint follows the Service.
      const localDns = (before: KubeObject | undefined, after: KubeObject | undefined) => {
        if (local === undefined) return;
        const previous = nodeLocalDnsSlice(before && asService(before), local);
        const next = nodeLocalDnsSlice(after && asService(after), local);
        if (previous !== undefined || next !== undefined) proxy.onEndpointSliceUpdate(previous, next);
      };
      this.#services.addHandlers({
        onAdd: (o) => {
          proxy.onServiceUpdate(undefined, asService(o));
          localDns(undefined, o);
        },
        onUpdate: (a, b) => {
          proxy.onServiceUpdate(asService(a), asService(b));
          localDns(a, b);
        },
        onDelete: (o) => {
          proxy.onServiceUpdate(asService(o), undefined);
          localDns(o, undefined);
        },
      });
      this.#slices.addHandlers({
        onAdd: (o) => proxy.onEndpointSliceUpdate(undefined, asSlice(o)),
        onUpdate: (a, b) => proxy.onEndpointSliceUpdate(asSlice(a), asSlice(b)),
        onDelete: (o) => proxy.onEndpointSliceUpdate(asSlice(o), undefined),
      });
      this.#node.addHandlers({
        onAdd: (o) => proxy.onNodeUpdate(undefined, asNode(o)),
        onUpdate: (a, b) => proxy.onNodeUpdate(asNode(a), asNode(b)),
        onDelete: (o) => proxy.onNodeUpdate(asNode(o), undefined),
      });
    }
    const onServiceChange = this.#options.onServiceChange;
    if (proxy && onServiceChange) {
      this.#services.addHandlers({ onAdd: onServiceChange, onUpdate: onServiceChange, onDelete: onServiceChange });
    }
    if (dns) {
      const changed = {
        onAdd: () => this.#queueZone(),
        onUpdate: () => this.#queueZone(),
        onDelete: () => this.#queueZone(),
      };
      this.#services.addHandlers(changed);
      this.#slices.addHandlers(changed);
    }
    this.#running = Promise.all([
      this.#services.run(),
      this.#slices.run(),
      ...(proxy ? [this.#node.run(), proxy.run(signal)] : []),
    ]);
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** The Services as the informer holds them now. */
  services(): Service[] {
    return this.#services.list() as unknown as Service[];
  }

  #queueZone(): void {
    if (this.#zoneTimer !== undefined) return;
    this.#zoneTimer = setTimeout(() => {
      this.#zoneTimer = undefined;
      const slices = this.#slices
        .list()
        .map((s) => dnsEndpointSlice(s as never))
        .filter((s): s is DnsEndpointSlice => s !== undefined);
      this.#options.dns?.setZone(
        buildZoneIndex(
          this.#options.zone,
          this.#services.list().map((s) => dnsService(s as never)),
          slices,
        ),
      );
    }, this.#options.zoneDelayMs ?? 100);
  }

  /** Ends the informers; resolves once their loops returned. */
  async stop(): Promise<void> {
    this.#services.stop();
    this.#slices.stop();
    this.#node.stop();
    if (this.#zoneTimer !== undefined) clearTimeout(this.#zoneTimer);
    this.#zoneTimer = undefined;
    await this.#running;
  }
}
