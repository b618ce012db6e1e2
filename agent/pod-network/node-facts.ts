/** What the pod network needs to know of a Node (its own or a peer's), read from the object. */
import type { Node } from '../../kube/corev1.ts';
import { isIPv4 } from '../../netproxy/ipv4.ts';
import { podNetworkAnnotations, podNetworkBackends, type PodNetworkBackend } from './settings.ts';

export interface NodeNetworkFacts {
  name: string;
  podCIDR: string | undefined;
  /** Where its pods' traffic goes: the published public IP, else its InternalIP. */
  ip: string | undefined;
  backend: PodNetworkBackend | undefined;
  vtepMac: string | undefined;
  clusterCIDR: string | undefined;
}

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const cidrPattern = /^(\d{1,3}(\.\d{1,3}){3})\/(\d{1,2})$/;

/** An IPv4 CIDR whose address has no host bits set, or undefined. */
function cleanCIDR(text: string | undefined): string | undefined {
  const match = text === undefined ? null : cidrPattern.exec(text);
  if (match === null || !isIPv4(match[1]!)) return undefined;
  const bits = Number(match[3]);
  if (bits > 32) return undefined;
  const address = match[1]!.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  return address % 2 ** (32 - bits) === 0 ? text : undefined;
}

/**
 * Reads a Node. Anything malformed (an annotation any node could have written) reads as absent:
 * these values end up in route and neighbour commands, so only clean ones get that far.
 */
export function nodeNetworkFacts(node: Node): NodeNetworkFacts {
  const annotations = node.metadata.annotations ?? {};
  const published = annotations[podNetworkAnnotations.publicIP];
  const internal = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const ip = [published, internal].find((a): a is string => a !== undefined && isIPv4(a));
  const backend = podNetworkBackends.find((b) => b === annotations[podNetworkAnnotations.backend]);
  const mac = annotations[podNetworkAnnotations.vtepMac]?.toLowerCase();
  return {
    name: node.metadata.name ?? '',
    podCIDR: cleanCIDR(node.spec?.podCIDR),
    ip,
    backend,
    vtepMac: mac !== undefined && macPattern.test(mac) ? mac : undefined,
    clusterCIDR: cleanCIDR(annotations[podNetworkAnnotations.clusterCIDR]),
  };
}
