/**
 * A node's kernel as the pod network sees it, in memory: routes (with their protocol), bosun.1,
 * its neighbour and FDB entries, the node's links. Applies actions as the kernel would (deleting
 * bosun.1 takes its routes and entries with it), records every call, and fails on request.
 */
import type { NetworkHost } from '../../../agent/pod-network/ip-host.ts';
import type { MasqueradeSettings } from '../../../agent/pod-network/masquerade.ts';
import type {
  FdbEntry,
  Neighbour,
  ObservedNetwork,
  ObservedVtep,
  PeerAction,
  PodRoute,
  VtepAction,
} from '../../../agent/pod-network/plan.ts';
import { vxlan } from '../../../agent/pod-network/settings.ts';

interface FakeRoute extends PodRoute {
  /** 'ours' for routes with our protocol number; anything else is someone else's. */
  owner: 'ours' | 'other';
}

type Method = 'observe' | 'applyVtep' | 'applyPeers' | 'applyMasquerade';

export class FakeNetworkHost implements NetworkHost {
  routes: FakeRoute[] = [];
  connectedSubnets: string[];
  underlay = { dev: 'eth0', mtu: 1500 };
  vtep: ObservedVtep | undefined;
  neighbours: Neighbour[] = [];
  fdb: FdbEntry[] = [];
  masquerade: MasqueradeSettings | undefined;
  readonly calls: { method: Method; actions?: readonly (VtepAction | PeerAction)[] }[] = [];
  readonly #failures = new Map<Method, Error[]>();
  #macs = 0;

  constructor(connectedSubnets: string[]) {
    this.connectedSubnets = connectedSubnets;
  }

  /** The next call of `method` throws `error`. */
  failNext(method: Method, error: Error): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  #maybeFail(method: Method): void {
    const queued = this.#failures.get(method);
    const error = queued?.shift();
    if (error !== undefined) throw error;
  }

  /** Calls that changed something (observe and masquerade excluded). */
  get changes(): number {
    return this.calls.filter((c) => c.method === 'applyVtep' || c.method === 'applyPeers').length;
  }

  async observe(_nodeIP: string): Promise<ObservedNetwork> {
    this.calls.push({ method: 'observe' });
    this.#maybeFail('observe');
    return structuredClone({
      routes: this.routes.filter((r) => r.owner === 'ours').map(({ owner: _, ...r }) => r),
      connectedSubnets: this.connectedSubnets,
      underlay: this.underlay,
      vtep: this.vtep,
      neighbours: this.vtep === undefined ? [] : this.neighbours,
      fdb: this.vtep === undefined ? [] : this.fdb,
    });
  }

  async applyVtep(actions: readonly VtepAction[]): Promise<void> {
    this.calls.push({ method: 'applyVtep', actions });
    this.#maybeFail('applyVtep');
    for (const a of actions) {
      switch (a.kind) {
        case 'create-vtep':
          if (this.vtep !== undefined) throw new Error('RTNETLINK answers: File exists');
          this.vtep = {
            mac: `02:00:00:00:00:${(++this.#macs).toString(16).padStart(2, '0')}`,
            vni: vxlan.vni,
            local: a.local,
            port: vxlan.port,
            learning: false,
            udpChecksum: false,
            mtu: 1500,
            up: false,
            addresses: [],
          };
          break;
        case 'delete-vtep':
          this.vtep = undefined;
          this.routes = this.routes.filter((r) => r.dev !== vxlan.device);
          this.neighbours = [];
          this.fdb = [];
          break;
        case 'set-vtep-up':
          this.#vtep().mtu = a.mtu;
          this.#vtep().up = true;
          break;
        case 'set-vtep-address': {
          const v = this.#vtep();
          v.addresses = [...v.addresses.filter((x) => !a.remove.includes(x) && x !== a.add), a.add];
          break;
        }
      }
    }
  }

  #vtep(): ObservedVtep {
    if (this.vtep === undefined) throw new Error(`Cannot find device "${vxlan.device}"`);
    return this.vtep;
  }

  async applyPeers(actions: readonly PeerAction[]): Promise<void> {
    this.calls.push({ method: 'applyPeers', actions });
    this.#maybeFail('applyPeers');
    for (const a of actions) {
      switch (a.kind) {
        case 'replace-route':
          if (a.route.dev === vxlan.device) this.#vtep();
          this.routes = [...this.routes.filter((r) => r.dst !== a.route.dst), { ...a.route, owner: 'ours' }];
          break;
        case 'delete-route':
          this.routes = this.routes.filter(
            (r) => !(r.owner === 'ours' && r.dst === a.route.dst && r.via === a.route.via),
          );
          break;
        case 'replace-neighbour':
          this.#vtep();
          this.neighbours = [...this.neighbours.filter((n) => n.ip !== a.neighbour.ip), a.neighbour];
          break;
        case 'delete-neighbour':
          this.neighbours = this.neighbours.filter((n) => n.ip !== a.neighbour.ip);
          break;
        case 'replace-fdb':
          this.#vtep();
          this.fdb = [...this.fdb.filter((f) => f.mac !== a.entry.mac), a.entry];
          break;
        case 'delete-fdb':
          this.fdb = this.fdb.filter((f) => !(f.mac === a.entry.mac && f.dst === a.entry.dst));
          break;
      }
    }
  }

  async applyMasquerade(settings: MasqueradeSettings): Promise<void> {
    this.calls.push({ method: 'applyMasquerade' });
    this.#maybeFail('applyMasquerade');
    this.masquerade = settings;
  }
}
