/**
 * What the allocation repair loop does on one pass, decided without I/O, as upstream's ClusterIP and
 * NodePort repair controllers decide it: compare the values the Services hold with the claims in the
 * datastore, then
 *  - claim a value a Service holds without a claim (a Service from before claims, or a lost race)
 *    and say so on the Service (ClusterIPNotAllocated / PortNotAllocated);
 *  - report a value that two Services hold (ClusterIPAlreadyAllocated / PortAlreadyAllocated) on
 *    every holder but the claim's owner (or the oldest, when nobody holds the claim): the user
 *    must recreate one of them;
 *  - report a value outside the configured range (ClusterIPOutOfRange / PortOutOfRange);
 *  - free a claim no Service holds (leaked: a create refused after the claim was made), but only
 *    after it was seen leaked on three passes in a row, so that a claim whose Service is being
 *    written right now is never freed under it.
 */
import type { KubeObject } from '../../kube/types.ts';
import { inRange, nodePortRange, parseCidr } from '../admission/allocators.ts';
import type { Claim, ClaimKind, ClaimOwner } from './claims.ts';
import { heldValues } from './held-values.ts';

/** Upstream's numRepairsBeforeLeakCleanup. */
const passesBeforeLeakCleanup = 3;

export interface RepairEvent {
  readonly service: KubeObject;
  readonly reason: string;
  readonly message: string;
}

interface MissingClaim {
  readonly kind: ClaimKind;
  readonly value: string;
  readonly owner: ClaimOwner;
  readonly service: KubeObject;
  /** False on the very first pass over a datastore without claims: a migration, not a repair. */
  readonly report: boolean;
}

export interface RepairPlan {
  /** Values held without a claim; `report`: say so on the Service if the claim is really made now. */
  readonly claim: readonly MissingClaim[];
  readonly free: readonly Claim[];
  readonly events: readonly RepairEvent[];
  /** How many passes in a row each claim (kind/value) was seen leaked, for the next pass. */
  readonly leakedPasses: ReadonlyMap<string, number>;
}

const claimKey = (kind: ClaimKind, value: string) => `${kind}/${value}`;

export function describe(kind: ClaimKind, value: string): string {
  return kind === 'ip' ? `Cluster IP [IPv4]:${value}` : `Port ${value}`;
}

export const reasons = {
  ip: { missing: 'ClusterIPNotAllocated', duplicate: 'ClusterIPAlreadyAllocated', outOfRange: 'ClusterIPOutOfRange' },
  nodePort: { missing: 'PortNotAllocated', duplicate: 'PortAlreadyAllocated', outOfRange: 'PortOutOfRange' },
} as const;

function ownerOf(service: KubeObject): ClaimOwner {
  return {
    namespace: service.metadata.namespace ?? '',
    name: service.metadata.name ?? '',
    uid: service.metadata.uid ?? '',
  };
}

function byAge(a: KubeObject, b: KubeObject): number {
  const at = (o: KubeObject) => o.metadata.creationTimestamp ?? '';
  return at(a).localeCompare(at(b)) || (a.metadata.uid ?? '').localeCompare(b.metadata.uid ?? '');
}

export function planRepair(
  services: readonly KubeObject[],
  claims: readonly Claim[],
  serviceCidr: string,
  leakedBefore: ReadonlyMap<string, number>,
): RepairPlan {
  const range = parseCidr(serviceCidr);
  const claimed = new Map(claims.map((c) => [claimKey(c.kind, c.value), c]));
  const holders = new Map<string, KubeObject[]>();
  const events: RepairEvent[] = [];
  const claim: MissingClaim[] = [];
  for (const service of [...services].sort(byAge)) {
    for (const { kind, value } of heldValues(service)) {
      const inside =
        kind === 'ip'
          ? inRange(range, value)
          : Number(value) >= nodePortRange.first && Number(value) <= nodePortRange.last;
      if (!inside) {
        const where =
          kind === 'ip'
            ? `is not within the configured Service CIDR ${serviceCidr}`
            : `is not within the port range ${nodePortRange.first}-${nodePortRange.last}`;
        events.push({
          service,
          reason: reasons[kind].outOfRange,
          message: `${describe(kind, value)} ${where}; please recreate service`,
        });
        continue;
      }
      const key = claimKey(kind, value);
      holders.set(key, [...(holders.get(key) ?? []), service]);
    }
  }
  for (const [key, services] of holders) {
    const [kind, value] = key.split(/\/(.*)/s) as [ClaimKind, string];
    const existing = claimed.get(key);
    const owner = services.find((s) => s.metadata.uid === existing?.owner.uid) ?? services[0]!;
    // (a claim by a Service that no longer holds the value is freed as leaked, then claimed here)
    if (existing === undefined)
      claim.push({ kind, value, owner: ownerOf(owner), service: owner, report: claims.length > 0 });
    for (const other of services) {
      if (other === owner) continue;
      events.push({
        service: other,
        reason: reasons[kind].duplicate,
        message: `${describe(kind, value)} was assigned to multiple services; please recreate service`,
      });
    }
  }
  const free: Claim[] = [];
  const leakedPasses = new Map<string, number>();
  for (const c of claims) {
    const key = claimKey(c.kind, c.value);
    if (holders.get(key)?.some((s) => s.metadata.uid === c.owner.uid)) continue;
    const passes = (leakedBefore.get(key) ?? 0) + 1;
    if (passes >= passesBeforeLeakCleanup) free.push(c);
    else leakedPasses.set(key, passes);
  }
  return { claim, free, events, leakedPasses };
}
