/**
 * The IPVS backend's plan (`--proxy-mode ipvs`). Pure: state in, desired kernel state out.
 *   - every service address sits on a dummy interface (bosun-ipvs0) so the node accepts it;
 *   - one IPVS virtual server per (address, port), round robin over the real servers, with
 *     persistence for ClientIP affinity;
 *   - iptables (same hooks and top-level chain names as the iptables backend) only decides what
 *     to masquerade, matching ipsets instead of one rule per service, and refuses ports without
 *     endpoints exactly as the iptables backend does.
 * ipvsPlanCommands() turns desired + observed (`ipvsadm -Sn`) into an `ipvsadm --restore` script
 * that touches only what differs, so established connections to unchanged servers survive.
 */
import { chains } from './chain-names.ts';
import { refusals } from './refusals.ts';
import type { ProxyConfig } from './iptables-renderer.ts';
import {
  externalAddresses,
  internalTargets,
  trafficTargets,
  type Endpoint,
  type Protocol,
  type ServicePortState,
} from './service-port.ts';
import type { IpSet } from './tracer.ts';

export const ipvsInterface = 'bosun-ipvs0';

const ipsetNames = {
  clusterIP: 'BOSUN-CLUSTER-IP',
  externalIP: 'BOSUN-EXTERNAL-IP',
  nodePortTCP: 'BOSUN-NODE-PORT-TCP',
  nodePortUDP: 'BOSUN-NODE-PORT-UDP',
  nodePortSCTP: 'BOSUN-NODE-PORT-SCTP',
  loopBack: 'BOSUN-LOOP-BACK',
} as const;

const nodePortSet: Record<Protocol, string> = {
  tcp: ipsetNames.nodePortTCP,
  udp: ipsetNames.nodePortUDP,
  sctp: ipsetNames.nodePortSCTP,
};

interface RealServer {
  address: string;
  port: number;
}

export interface VirtualServer {
  protocol: Protocol;
  address: string;
  port: number;
  scheduler: string;
  /** 0: none */
  persistenceSeconds: number;
  reals: RealServer[];
}

export interface IpvsPlan {
  virtualServers: VirtualServer[];
  /** Addresses to hold on the dummy interface. */
  interfaceAddresses: string[];
  ipsets: Map<string, IpSet>;
  iptablesPayload: string;
}

interface IpvsNode {
  /** Addresses that answer node ports (the node's own, not 127.0.0.1). */
  nodePortAddresses: readonly string[];
}

const vsKey = (v: { protocol: Protocol; address: string; port: number }) => `${v.protocol}|${v.address}|${v.port}`;

export function renderIpvs(
  state: ReadonlyMap<string, ServicePortState>,
  config: ProxyConfig,
  node: IpvsNode,
): IpvsPlan {
  const mark = `0x${(1 << config.masqueradeBit).toString(16)}`;
  const servers = new Map<string, VirtualServer>();
  const addresses = new Set<string>();
  const members = (type: IpSet['type']) => ({ type, members: new Set<string>() });
  const sets = {
    clusterIP: members('hash:ip,port'),
    externalIP: members('hash:ip,port'),
    tcp: members('bitmap:port'),
    udp: members('bitmap:port'),
    sctp: members('bitmap:port'),
    loopBack: members('hash:ip,port,ip'),
  };
  const filterRules: string[] = [];
  const addServer = (port: ServicePortState, address: string, vport: number, reals: readonly Endpoint[]) => {
    if (reals.length === 0) return;
    const vs: VirtualServer = {
      protocol: port.protocol,
      address,
      port: vport,
      scheduler: 'rr',
      persistenceSeconds: port.affinitySeconds,
      reals: reals.map((e) => ({ address: e.ip, port: e.port })),
    };
    servers.set(vsKey(vs), vs);
  };

  const ports = [...state.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const port of ports) {
    const targets = trafficTargets(port);
    const internal = internalTargets(port, targets);
    const external = port.externalPolicyLocal ? targets.local : targets.cluster;
    if (port.clusterIP !== undefined) {
      addresses.add(port.clusterIP);
      addServer(port, port.clusterIP, port.port, internal);
      sets.clusterIP.members.add(`${port.clusterIP},${port.protocol}:${port.port}`);
    }
    for (const ip of externalAddresses(port)) {
      addresses.add(ip);
      addServer(port, ip, port.port, external);
      // Local policy keeps the client address: such ports stay out of the masquerade set.
      if (!port.externalPolicyLocal) sets.externalIP.members.add(`${ip},${port.protocol}:${port.port}`);
    }
    if (port.nodePort > 0) {
      for (const ip of node.nodePortAddresses) addServer(port, ip, port.nodePort, external);
      if (!port.externalPolicyLocal) sets[port.protocol].members.add(String(port.nodePort));
    }
    for (const e of targets.local) sets.loopBack.members.add(`${e.ip},${port.protocol}:${e.port},${e.ip}`);
    for (const r of refusals(port, targets)) {
      const line = `${r.match} -j ${r.target}`;
      filterRules.push(`-A ${r.chain} ${line}`);
      // Service addresses are local in this mode: refusals must also apply on the way in.
      if (r.chain === chains.services) filterRules.push(`-A ${chains.externalServices} ${line}`);
    }
  }

  const ipsets = new Map<string, IpSet>([
    [ipsetNames.clusterIP, sets.clusterIP],
    [ipsetNames.externalIP, sets.externalIP],
    [ipsetNames.nodePortTCP, sets.tcp],
    [ipsetNames.nodePortUDP, sets.udp],
    [ipsetNames.nodePortSCTP, sets.sctp],
    [ipsetNames.loopBack, sets.loopBack],
  ]);

  const nat: string[] = [];
  if (config.clusterCIDR !== undefined) {
    nat.push(
      `-A ${chains.services} -m set --match-set ${ipsetNames.clusterIP} dst,dst ! -s ${config.clusterCIDR} -j ${chains.markMasq}`,
    );
  }
  nat.push(`-A ${chains.services} -m set --match-set ${ipsetNames.externalIP} dst,dst -j ${chains.markMasq}`);
  nat.push(`-A ${chains.services} ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j ${chains.nodePorts}`);
  for (const protocol of ['tcp', 'udp', 'sctp'] as const) {
    nat.push(
      `-A ${chains.nodePorts} -p ${protocol} -m ${protocol} -m set --match-set ${nodePortSet[protocol]} dst -j ${chains.markMasq}`,
    );
  }
  nat.push(`-A ${chains.postrouting} -m set --match-set ${ipsetNames.loopBack} dst,dst,src -j MARK --or-mark ${mark}`);
  nat.push(`-A ${chains.postrouting} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.push(`-A ${chains.postrouting} -j MARK --xor-mark ${mark}`);
  nat.push(`-A ${chains.postrouting} -j MASQUERADE --random-fully`);
  nat.push(`-A ${chains.markMasq} -j MARK --or-mark ${mark}`);
  nat.push(`-A ${chains.canary} -j RETURN`);
  const natChains = [chains.services, chains.nodePorts, chains.postrouting, chains.markMasq, chains.canary];
  const filterChains = [chains.services, chains.externalServices, chains.forward, chains.canary];
  const payload = [
    '*filter',
    ...filterChains.map((c) => `:${c} - [0:0]`),
    ...filterRules,
    `-A ${chains.forward} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${chains.forward} -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${chains.forward} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${chains.canary} -j RETURN`,
    'COMMIT',
    '*nat',
    ...natChains.map((c) => `:${c} - [0:0]`),
    ...nat,
    'COMMIT',
    '',
  ].join('\n');

  return {
    virtualServers: [...servers.values()],
    interfaceAddresses: [...addresses].sort(),
    ipsets,
    iptablesPayload: payload,
  };
}

const serviceFlag: Record<Protocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

/** Parses `ipvsadm -Sn` output. */
export function parseIpvsSave(text: string): VirtualServer[] {
  const servers = new Map<string, VirtualServer>();
  for (const line of text.split('\n')) {
    const m = /^-([Aa]) (-t|-u|--sctp-service) (\S+):(\d+)(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, op, flag, address = '', portText = '', rest = ''] = m;
    const protocol = (Object.keys(serviceFlag) as Protocol[]).find((p) => serviceFlag[p] === flag)!;
    const key = vsKey({ protocol, address, port: Number(portText) });
    if (op === 'A') {
      const scheduler = /-s (\S+)/.exec(rest)?.[1] ?? 'wlc';
      const persistence = /-p (\d+)/.exec(rest)?.[1];
      servers.set(key, {
        protocol,
        address,
        port: Number(portText),
        scheduler,
        persistenceSeconds: persistence ? Number(persistence) : 0,
        reals: [],
      });
    } else {
      const real = /-r (\S+):(\d+)/.exec(rest);
      if (real) servers.get(key)?.reals.push({ address: real[1]!, port: Number(real[2]) });
    }
  }
  return [...servers.values()];
}

/** `ipvsadm --restore` lines that turn `observed` into `desired`. */
export function ipvsPlanCommands(desired: readonly VirtualServer[], observed: readonly VirtualServer[]): string[] {
  const out: string[] = [];
  const seen = new Map(observed.map((v) => [vsKey(v), v]));
  const wanted = new Set(desired.map(vsKey));
  const service = (v: VirtualServer) => `${serviceFlag[v.protocol]} ${v.address}:${v.port}`;
  const options = (v: VirtualServer) =>
    `-s ${v.scheduler}${v.persistenceSeconds > 0 ? ` -p ${v.persistenceSeconds}` : ''}`;
  for (const v of observed) if (!wanted.has(vsKey(v))) out.push(`-D ${service(v)}`);
  for (const v of desired) {
    const before = seen.get(vsKey(v));
    if (before === undefined) out.push(`-A ${service(v)} ${options(v)}`);
    else if (before.scheduler !== v.scheduler || before.persistenceSeconds !== v.persistenceSeconds)
      out.push(`-E ${service(v)} ${options(v)}`);
    const had = new Set((before?.reals ?? []).map((r) => `${r.address}:${r.port}`));
    const want = new Set(v.reals.map((r) => `${r.address}:${r.port}`));
    for (const r of before?.reals ?? [])
      if (!want.has(`${r.address}:${r.port}`)) out.push(`-d ${service(v)} -r ${r.address}:${r.port}`);
    for (const r of v.reals)
      if (!had.has(`${r.address}:${r.port}`)) out.push(`-a ${service(v)} -r ${r.address}:${r.port} -m -w 1`);
  }
  return out;
}

/** `ipset restore` input that creates our sets if needed and replaces their members. */
export function ipsetRestoreText(sets: ReadonlyMap<string, IpSet>): string {
  const out: string[] = [];
  for (const [name, set] of sets) {
    const options = set.type === 'bitmap:port' ? ' range 0-65535' : ' family inet';
    out.push(`create ${name} ${set.type}${options} -exist`, `flush ${name}`);
    for (const m of [...set.members].sort()) out.push(`add ${name} ${m}`);
  }
  return `${out.join('\n')}\n`;
}
