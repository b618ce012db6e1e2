/**
 * The node's pod network, owned by the agent (flannel built in, as k3s does): once the control
 * plane has given this node a podCIDR, it writes the CNI conflist, keeps bosun.1 (VXLAN backends),
 * publishes what peers need on its own Node, routes every peer's podCIDR, and masquerades pod
 * traffic that leaves the cluster.
 *
 * Each sync is observe → plan → act, with the kernel read back every time (nothing is remembered
 * between syncs, so a restart or a hand-made change is simply seen); syncs are coalesced: a burst
 * of Node changes costs one, and one runs at least every `resyncMs` to repair drift.
 */
import type { Logger } from 'pino';
import type { Node } from '../../kube/corev1.ts';
import { monotonicClock, type Clock } from '../../kube/clock.ts';
import { SyncRunner } from '../../netproxy/sync-runner.ts';
import { renderConflist, writeConflistIfChanged } from './cni-conflist.ts';
import type { NetworkHost } from './ip-host.ts';
import { nodeNetworkFacts } from './node-facts.ts';
import { planPeers, planVtep, podMtu, type ObservedNetwork, type SelfFacts, type Unroutable } from './plan.ts';
import { podNetworkAnnotations, type PodNetworkBackend } from './settings.ts';

export interface PodNetworkConfig {
  nodeName: string;
  nodeIP: string;
  backend: Exclude<PodNetworkBackend, 'none'>;
  cniConfDir: string;
  /** host-local's state folder. */
  cniDataDir: string;
  cniNetworkName: string;
  /** --cluster-cidr given to the agent; undefined: learned from its Node (set by the control plane). */
  clusterCIDR: string | undefined;
  serviceCIDR: string | undefined;
  /** Periodic sync without changes (default 30 s). */
  resyncMs?: number;
}

interface PodNetworkDeps {
  host: NetworkHost;
  /** Every Node (an informer's cache). */
  nodes: () => readonly Node[];
  /** Merge-patches annotations on this node's Node (null removes one). */
  publish: (annotations: Record<string, string | null>) => Promise<void>;
  log: Logger;
  clock?: Clock;
}

type PodNetworkState =
  | { phase: 'waiting'; reason: string }
  | { phase: 'synced'; podCIDR: string; clusterCIDR: string; peerActions: number; unroutable: Unroutable[] }
  | { phase: 'failed'; error: string };

export class PodNetwork {
  readonly #config: PodNetworkConfig;
  readonly #deps: PodNetworkDeps;
  readonly #runner: SyncRunner;
  #state: PodNetworkState = { phase: 'waiting', reason: 'not synced yet' };
  #lastUnroutable = '';
  #syncs = 0;

  constructor(config: PodNetworkConfig, deps: PodNetworkDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#runner = new SyncRunner(() => this.#syncLogged(), {
      minIntervalMs: 50,
      maxIntervalMs: config.resyncMs ?? 30_000,
      clock: deps.clock ?? monotonicClock,
    });
  }

  get state(): PodNetworkState {
    return this.#state;
  }

  /** Syncs completed (for tests and the bench). */
  get syncs(): number {
    return this.#syncs;
  }

  /** Asks for a sync soon (a Node changed). */
  request(): void {
    this.#runner.request();
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#runner.run(signal);
  }

  async #syncLogged(): Promise<void> {
    try {
      const before = this.#state;
      const wasSynced = before.phase === 'synced';
      this.#state = await this.sync();
      // what it waits for, once per change (a node without a podCIDR is the usual first question)
      if (this.#state.phase === 'waiting' && (before.phase !== 'waiting' || before.reason !== this.#state.reason))
        this.#deps.log.info({ reason: this.#state.reason }, 'pod network waiting');
      if (!wasSynced && this.#state.phase === 'synced')
        this.#deps.log.info(
          { podCIDR: this.#state.podCIDR, clusterCIDR: this.#state.clusterCIDR, changes: this.#state.peerActions },
          'pod network in place',
        );
    } catch (err) {
      this.#state = { phase: 'failed', error: (err as Error).message };
      this.#deps.log.warn({ err: (err as Error).message }, 'pod network sync failed; trying again');
      this.#runner.retryAfter(1_000);
    }
    this.#syncs++;
  }

  /** One observe → plan → act pass. Throws when the host refuses a step. */
  async sync(): Promise<PodNetworkState> {
    const { host, log } = this.#deps;
    const config = this.#config;
    const nodes = this.#deps.nodes();
    const own = nodes.find((n) => n.metadata.name === config.nodeName);
    if (own === undefined) return { phase: 'waiting', reason: 'this node is not registered yet' };
    const facts = nodeNetworkFacts(own);
    if (facts.podCIDR === undefined)
      return { phase: 'waiting', reason: 'the control plane has not given this node a podCIDR yet' };
    const clusterCIDR = config.clusterCIDR ?? facts.clusterCIDR;
    if (clusterCIDR === undefined)
      return {
        phase: 'waiting',
        reason: `the cluster CIDR is not known (no --cluster-cidr, no ${podNetworkAnnotations.clusterCIDR} on the Node)`,
      };
    const self: SelfFacts = {
      name: config.nodeName,
      podCIDR: facts.podCIDR,
      ip: config.nodeIP,
      backend: config.backend,
    };

    let observed = await host.observe(config.nodeIP);
    const conflist = renderConflist({
      networkName: config.cniNetworkName,
      podCIDR: self.podCIDR,
      mtu: podMtu(self.backend, observed.underlay?.mtu),
      ipamDataDir: config.cniDataDir,
    });
    if (writeConflistIfChanged(config.cniConfDir, conflist))
      log.info({ podCIDR: self.podCIDR, dir: config.cniConfDir }, 'CNI conflist written for this node');

    const vtepActions = planVtep(self, observed);
    if (vtepActions.length > 0) {
      await host.applyVtep(vtepActions);
      log.info({ actions: vtepActions.map((a) => a.kind) }, 'VXLAN device set up');
      observed = await host.observe(config.nodeIP);
    }
    await this.#publish(own, observed);

    const peers = nodes.map(nodeNetworkFacts);
    const plan = planPeers(self, peers, clusterCIDR, observed);
    if (plan.actions.length > 0) {
      await host.applyPeers(plan.actions);
      log.info({ actions: plan.actions.map(describe) }, 'pod routes changed');
    }
    const unroutable = JSON.stringify(plan.unroutable);
    if (unroutable !== this.#lastUnroutable && plan.unroutable.length > 0)
      log.warn({ peers: plan.unroutable }, 'some peers cannot be routed');
    this.#lastUnroutable = unroutable;

    await host.applyMasquerade({ clusterCIDR, serviceCIDR: config.serviceCIDR });
    return {
      phase: 'synced',
      podCIDR: self.podCIDR,
      clusterCIDR,
      peerActions: plan.actions.length,
      unroutable: plan.unroutable,
    };
  }

  /** Publishes backend, public IP and VTEP MAC on the own Node when they differ from what it carries. */
  async #publish(own: Node, observed: ObservedNetwork): Promise<void> {
    const wanted: Record<string, string | null> = {
      [podNetworkAnnotations.backend]: this.#config.backend,
      [podNetworkAnnotations.publicIP]: this.#config.nodeIP,
      [podNetworkAnnotations.vtepMac]: observed.vtep?.mac ?? null,
    };
    const current = own.metadata.annotations ?? {};
    const changed = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => (current[k] ?? null) !== v));
    if (Object.keys(changed).length === 0) return;
    await this.#deps.publish(changed);
  }
}

function describe(a: ReturnType<typeof planPeers>['actions'][number]): string {
  switch (a.kind) {
    case 'replace-route':
    case 'delete-route':
      return `${a.kind} ${a.route.dst} via ${a.route.via}`;
    case 'replace-neighbour':
    case 'delete-neighbour':
      return `${a.kind} ${a.neighbour.ip} ${a.neighbour.mac}`;
    case 'replace-fdb':
    case 'delete-fdb':
      return `${a.kind} ${a.entry.mac} ${a.entry.dst}`;
  }
}
