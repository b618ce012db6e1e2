/** The ClusterIPs and NodePorts a Service holds, as claim values (claims.ts). */
import type { KubeObject } from '../../kube/types.ts';
import type { ClaimKind } from './claims.ts';

type Any = Record<string, any>;

interface HeldValue {
  readonly kind: ClaimKind;
  readonly value: string;
}

export function heldValues(service: KubeObject | undefined): HeldValue[] {
  const spec = (service?.spec ?? {}) as Any;
  const held: HeldValue[] = [];
  const ips = new Set<string>([
    ...(typeof spec.clusterIP === 'string' ? [spec.clusterIP] : []),
    ...(Array.isArray(spec.clusterIPs) ? spec.clusterIPs.filter((ip: unknown) => typeof ip === 'string') : []),
  ]);
  for (const ip of ips) if (ip !== '' && ip !== 'None') held.push({ kind: 'ip', value: ip });
  const ports = new Set<number>();
  for (const port of Array.isArray(spec.ports) ? (spec.ports as Any[]) : [])
    if (Number.isInteger(port?.nodePort) && port.nodePort > 0) ports.add(port.nodePort);
  for (const port of ports) held.push({ kind: 'nodePort', value: String(port) });
  return held;
}

/** What `before` held that `after` (undefined: removed) no longer holds: to be freed. */
export function droppedValues(before: KubeObject, after: KubeObject | undefined): HeldValue[] {
  const kept = new Set(heldValues(after).map((v) => `${v.kind}/${v.value}`));
  return heldValues(before).filter((v) => !kept.has(`${v.kind}/${v.value}`));
}
