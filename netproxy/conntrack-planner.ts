/**
 * Which UDP conntrack entries must go after a sync. A UDP "connection" lives as long as packets
 * keep flowing, so a client that keeps sending (a resolver to cluster DNS) would stay pinned to a
 * removed endpoint, or to the REJECT it got while the service had none, until it stopped for the
 * conntrack timeout. TCP needs nothing: a dead endpoint resets or times out the connection.
 */
import type { ServiceChange } from './change-tracker.ts';
import { endpointAddress, externalAddresses, trafficTargets, type ServicePortState } from './service-port.ts';

/** One `conntrack -D` filter. */
export interface ConntrackDeletion {
  protocol: 'udp';
  /** original destination address (a service address) */
  origDst?: string;
  /** original destination port */
  origDport?: number;
  /** the endpoint that answered (reply source) */
  replySrc?: string;
}

function usableAddresses(port: ServicePortState | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (port === undefined) return out;
  const { cluster, local } = trafficTargets(port);
  for (const e of [...cluster, ...local]) out.set(endpointAddress(e), e.ip);
  return out;
}

export function planConntrackCleanup(changes: readonly ServiceChange[]): ConntrackDeletion[] {
  const out = new Map<string, ConntrackDeletion>();
  const add = (d: ConntrackDeletion) => out.set(JSON.stringify(d), d);
  for (const change of changes) {
    const current = new Map(change.current.map((p) => [p.key, p]));
    const keys = new Set([...change.previous.map((p) => p.key), ...current.keys()]);
    const previous = new Map(change.previous.map((p) => [p.key, p]));
    for (const key of keys) {
      const before = previous.get(key);
      const after = current.get(key);
      const sample = before ?? after!;
      if (sample.protocol !== 'udp') continue;
      const was = usableAddresses(before);
      const now = usableAddresses(after);
      // Endpoints that went away: flows that reached them through any address of the port.
      if (before !== undefined) {
        const addresses = [before.clusterIP, ...externalAddresses(before)].filter((a): a is string => a !== undefined);
        for (const [address, ip] of was) {
          if (now.has(address)) continue;
          for (const dst of addresses) add({ protocol: 'udp', origDst: dst, origDport: before.port, replySrc: ip });
          if (before.nodePort > 0) add({ protocol: 'udp', origDport: before.nodePort, replySrc: ip });
        }
      }
      // From no endpoints to some: flows that were refused must start over through the new rules.
      if (after !== undefined && was.size === 0 && now.size > 0) {
        const addresses = [after.clusterIP, ...externalAddresses(after)].filter((a): a is string => a !== undefined);
        for (const dst of addresses) add({ protocol: 'udp', origDst: dst, origDport: after.port });
        if (after.nodePort > 0) add({ protocol: 'udp', origDport: after.nodePort });
      }
    }
  }
  return [...out.values()];
}

/** The `conntrack` arguments for one deletion. */
export function conntrackArgs(d: ConntrackDeletion): string[] {
  const args = ['-D', '-p', d.protocol];
  if (d.origDst !== undefined) args.push('--orig-dst', d.origDst);
  if (d.origDport !== undefined) args.push('--orig-port-dst', String(d.origDport));
  if (d.replySrc !== undefined) args.push('--reply-src', d.replySrc);
  return args;
}
