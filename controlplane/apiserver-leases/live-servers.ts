/**
 * Which API servers are alive, judged from their leases (apiserver-lease.ts) by this server's own
 * clock: a lease is alive while less than its duration has passed since it was last renewed.
 * The renewal time is the one the lease says when that is plausible (not in the future, not older
 * than a lease since it was seen to change), else the moment this server saw it change; so a
 * server whose clock is off can neither keep a dead peer listed nor drop a live one for long.
 */
import type { Lease } from '../../kube/corev1.ts';
import { endpointAnnotation } from './apiserver-lease.ts';

export interface LiveServer {
  readonly leaseName: string;
  readonly address: string;
  readonly port: number;
}

/** Per lease: the resourceVersion last seen and when it was renewed, by this server's reckoning. */
export type RenewalsSeen = ReadonlyMap<string, { readonly resourceVersion: string; readonly renewedAt: number }>;

/** `1.2.3.4:6443` as an IPv4 address and a port, or undefined for anything else. */
export function parseEndpoint(text: unknown): { address: string; port: number } | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const octets = match[1]!.split('.').map(Number);
  const port = Number(match[2]);
  if (octets.some((o) => o > 255) || port < 1 || port > 65535) return undefined;
  return { address: match[1]!, port };
}

export function liveServers(
  leases: readonly Lease[],
  seen: RenewalsSeen,
  now: number,
): { live: LiveServer[]; seen: RenewalsSeen } {
  const next = new Map<string, { resourceVersion: string; renewedAt: number }>();
  const live: LiveServer[] = [];
  for (const lease of leases) {
    const name = lease.metadata.name ?? '';
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const resourceVersion = lease.metadata.resourceVersion ?? '';
    const before = seen.get(name);
    let renewedAt: number;
    if (before !== undefined && before.resourceVersion === resourceVersion) renewedAt = before.renewedAt;
    else {
      const written = Date.parse(lease.spec?.renewTime ?? '');
      renewedAt = Number.isFinite(written) && written <= now && written > now - durationMs ? written : now;
      // seen for the first time with a renewal too old to trust: dead unless it changes again
      if (before === undefined && Number.isFinite(written) && written <= now - durationMs) renewedAt = written;
    }
    next.set(name, { resourceVersion, renewedAt });
    const endpoint = parseEndpoint(lease.metadata.annotations?.[endpointAnnotation]);
    if (endpoint !== undefined && renewedAt + durationMs > now) live.push({ leaseName: name, ...endpoint });
  }
  return { live, seen: next };
}
