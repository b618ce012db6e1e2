/**
 * The pod network's executor: reads the kernel's state with `ip -j` / `bridge -j` (JSON, parsed
 * here) and changes it with one `ip -batch` / `bridge -batch` process per step. Processes rather
 * than a netlink library: nothing in the registry speaks rtnetlink without native code, iproute2 is
 * on every node, and a sync costs a handful of processes whatever the number of peers (measured in
 * bench/pod-network.ts).
 */
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import { runListings, type ListingResult } from '../../netproxy/command-listings.ts';
import { detectBackend, type IptablesBackend } from '../../netproxy/iptables-backend.ts';
import { masqueradeHooks, missingMasqueradeHooks, renderMasquerade, type MasqueradeSettings } from './masquerade.ts';
import type { FdbEntry, Neighbour, ObservedNetwork, ObservedVtep, PeerAction, PodRoute, VtepAction } from './plan.ts';
import { routeProtocol, vxlan } from './settings.ts';

/** The seam the loop drives; a stateful fake stands in for it in unit tests. */
export interface NetworkHost {
  observe(nodeIP: string): Promise<ObservedNetwork>;
  applyVtep(actions: readonly VtepAction[]): Promise<void>;
  applyPeers(actions: readonly PeerAction[]): Promise<void>;
  applyMasquerade(settings: MasqueradeSettings): Promise<void>;
}

class PodNetworkCommandError extends Error {
  readonly code = 'BOSUN_POD_NETWORK_COMMAND';
}

type Json = Record<string, any>;

/** Our routes and the node's connected subnets, from `ip -j route show table main`. */
export function parseRoutes(json: Json[]): Pick<ObservedNetwork, 'routes' | 'connectedSubnets'> {
  const routes: PodRoute[] = [];
  const connectedSubnets: string[] = [];
  for (const r of json) {
    if (typeof r.dst !== 'string') continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    if (String(r.protocol) === String(routeProtocol) && typeof r.gateway === 'string') {
      const onlink = Array.isArray(r.flags) && r.flags.includes('onlink');
      routes.push({ dst, via: r.gateway, ...(r.dev === vxlan.device ? { dev: vxlan.device } : {}), onlink });
    } else if (r.protocol === 'kernel' && r.scope === 'link' && r.dev !== 'cni0' && r.dev !== vxlan.device) {
      connectedSubnets.push(dst);
    }
  }
  return { routes, connectedSubnets };
}

/** bosun.1 as `ip -j -d addr show dev bosun.1` describes it (undefined when absent or not VXLAN). */
export function parseVtep(json: Json[]): ObservedVtep | undefined {
  const link = json[0];
  const data = link?.linkinfo?.info_data;
  if (link === undefined || link.linkinfo?.info_kind !== 'vxlan' || data === undefined) return undefined;
  return {
    mac: String(link.address),
    vni: Number(data.id),
    local: typeof data.local === 'string' ? data.local : undefined,
    port: Number(data.port),
    learning: data.learning === true,
    udpChecksum: data.udp_csum === true,
    mtu: Number(link.mtu),
    up: Array.isArray(link.flags) && link.flags.includes('UP'),
    addresses: ((link.addr_info ?? []) as Json[])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** The link holding `nodeIP`, from `ip -j addr show`. */
export function parseUnderlay(json: Json[], nodeIP: string): ObservedNetwork['underlay'] {
  const link = json.find((l) => ((l.addr_info ?? []) as Json[]).some((a) => a.local === nodeIP));
  return link === undefined ? undefined : { dev: String(link.ifname), mtu: Number(link.mtu) };
}

export function parseNeighbours(json: Json[]): Neighbour[] {
  return json
    .filter((n) => typeof n.dst === 'string' && typeof n.lladdr === 'string')
    .map((n) => ({ ip: n.dst, mac: String(n.lladdr).toLowerCase() }));
}

export function parseFdb(json: Json[]): FdbEntry[] {
  return json
    .filter((f) => typeof f.mac === 'string' && typeof f.dst === 'string')
    .map((f) => ({ mac: String(f.mac).toLowerCase(), dst: f.dst }));
}

const dev = vxlan.device;
const proto = `proto ${routeProtocol}`;

function routeSpec(r: PodRoute): string {
  return `${r.dst} via ${r.via}${r.dev ? ` dev ${r.dev}` : ''}${r.onlink ? ' onlink' : ''} ${proto}`;
}

/** `ip -batch` lines for VTEP actions. */
export function vtepBatch(actions: readonly VtepAction[]): string[] {
  return actions.flatMap((a) => {
    switch (a.kind) {
      case 'create-vtep':
        return [
          `link add ${dev} type vxlan id ${vxlan.vni} local ${a.local} dstport ${vxlan.port} nolearning noudpcsum`,
        ];
      case 'delete-vtep':
        return [`link del ${dev}`];
      case 'set-vtep-up':
        return [`link set ${dev} mtu ${a.mtu} up`];
      case 'set-vtep-address':
        return [...a.remove.map((r) => `addr del ${r} dev ${dev}`), `addr replace ${a.add} dev ${dev}`];
    }
  });
}

/**
 * The peer actions in three steps, each one process: route and neighbour removals (`ip`), FDB
 * changes (`bridge`), then neighbour and route additions (`ip`), so a route is only there once the
 * entries that resolve its next hop are.
 */
export function peerBatches(actions: readonly PeerAction[]): { before: string[]; fdb: string[]; after: string[] } {
  const out = { before: [] as string[], fdb: [] as string[], after: [] as string[] };
  for (const a of actions) {
    switch (a.kind) {
      case 'delete-route':
        out.before.push(`route del ${routeSpec(a.route)}`);
        break;
      case 'delete-neighbour':
        out.before.push(`neigh del ${a.neighbour.ip} dev ${dev}`);
        break;
      case 'delete-fdb':
        out.fdb.push(`fdb del ${a.entry.mac} dev ${dev} dst ${a.entry.dst} self`);
        break;
      case 'replace-fdb':
        out.fdb.push(`fdb replace ${a.entry.mac} dev ${dev} dst ${a.entry.dst} self permanent`);
        break;
      case 'replace-neighbour':
        out.after.push(`neigh replace ${a.neighbour.ip} lladdr ${a.neighbour.mac} dev ${dev} nud permanent`);
        break;
      case 'replace-route':
        out.after.push(`route replace ${routeSpec(a.route)}`);
        break;
    }
  }
  return out;
}

export class IpCommandHost implements NetworkHost {
  readonly #runner: CommandRunner;
  #iptables: IptablesBackend | undefined;

  constructor(runner: CommandRunner) {
    this.#runner = runner;
  }

  /** A listing's JSON; a failed one throws, or is empty when `missingIsEmpty` and the device is absent. */
  #json(argv: readonly string[], r: ListingResult, missingIsEmpty = false): Json[] {
    if (r.code !== 0) {
      if (missingIsEmpty && /does not exist|Cannot find device/.test(r.stderr)) return [];
      throw new PodNetworkCommandError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as Json[]);
  }

  /** Every listing of a sync in one process: the periodic resync of an idle node costs one, not five. */
  async observe(nodeIP: string): Promise<ObservedNetwork> {
    const listings = [
      ['ip', '-j', 'route', 'show', 'table', 'main'],
      ['ip', '-j', 'addr', 'show'],
      ['ip', '-j', '-d', 'addr', 'show', 'dev', dev],
      ['ip', '-j', 'neigh', 'show', 'dev', dev],
      ['bridge', '-j', 'fdb', 'show', 'dev', dev],
    ] as const;
    const results = await runListings(this.#runner, listings);
    const [routes, addresses, vtep, neighbours, fdb] = listings.map((argv, i) => this.#json(argv, results[i]!, i >= 2));
    const observedVtep = parseVtep(vtep!);
    return {
      ...parseRoutes(routes!),
      underlay: parseUnderlay(addresses!, nodeIP),
      vtep: observedVtep,
      // without the VTEP, its neighbours and forwarding entries are none of ours
      neighbours: observedVtep === undefined ? [] : parseNeighbours(neighbours!),
      fdb: observedVtep === undefined ? [] : parseFdb(fdb!),
    };
  }

  async #batch(tool: 'ip' | 'bridge', lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    // -force: one failed line does not stop the rest; the next sync reads back and tries again
    const r = await this.#runner.run([tool, '-force', '-batch', '-'], {
      input: `${lines.join('\n')}\n`,
      timeoutMs: 30_000,
    });
    if (r.code !== 0)
      throw new PodNetworkCommandError(
        `${tool} -batch failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`,
      );
  }

  async applyVtep(actions: readonly VtepAction[]): Promise<void> {
    await this.#batch('ip', vtepBatch(actions));
  }

  async applyPeers(actions: readonly PeerAction[]): Promise<void> {
    const steps = peerBatches(actions);
    await this.#batch('ip', steps.before);
    await this.#batch('bridge', steps.fdb);
    await this.#batch('ip', steps.after);
  }

  async applyMasquerade(settings: MasqueradeSettings): Promise<void> {
    this.#iptables ??= await detectBackend(this.#runner);
    const iptables = this.#iptables;
    const listings = (
      await runListings(
        this.#runner,
        masqueradeHooks.map((h) => [iptables.iptables, '-w', '-t', h.table, '-S', h.chain]),
      )
    ).map((r) => (r.code === 0 ? r.stdout : ''));
    const payload = renderMasquerade(settings, missingMasqueradeHooks(listings));
    const r = await this.#runner.run([iptables.restore, '-w', '--noflush'], { input: payload, timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new PodNetworkCommandError(
        `${iptables.restore} failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0]}`,
      );
  }
}
