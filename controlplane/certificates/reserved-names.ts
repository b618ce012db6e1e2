/**
 * Names a node's serving certificate never gets without a person, even when the node registered
 * them as its own: the names by which pods and users reach the API server. Every client verifies
 * the API server with the cluster CA, the same CA that signs kubelet serving certificates, so a
 * node (or a bootstrap token, which can make itself a new node and register any addresses) that
 * got `kubernetes.default.svc` or the `kubernetes` Service's IP signed could pose as the API
 * server to every pod and collect their tokens. Upstream approves no serving certificate by itself;
 * bosun approves the node's own name and recorded addresses, minus these. Pure.
 */
import { BlockList, isIP } from 'node:net';
import { isProxyableAddress } from '../api/proxy-target.ts';

/** The Service names of the API server (the default namespace's `kubernetes` Service) and localhost. */
function reservedDnsName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === 'kubernetes' ||
    lower === 'kubernetes.default' ||
    lower === 'localhost' ||
    lower.endsWith('.localhost') ||
    lower.endsWith('.svc') ||
    lower.includes('.svc.')
  );
}

export interface ReservedNames {
  /** Why `name` may not be approved automatically; undefined when it may. */
  why(name: string): string | undefined;
}

/** The reserved names of a cluster whose Services take their addresses from `serviceCidr`. */
export function reservedServingNames(serviceCidr: string): ReservedNames {
  const services = new BlockList();
  const [base, bits] = serviceCidr.split('/');
  const family = isIP(base ?? '');
  if (family !== 0) services.addSubnet(base!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  return {
    why(name) {
      const ipFamily = isIP(name);
      if (ipFamily === 0) return reservedDnsName(name) ? `${name} is a name of the API server's Service` : undefined;
      if (!isProxyableAddress(name)) return `${name} is not a global unicast address`;
      if (services.check(name, ipFamily === 4 ? 'ipv4' : 'ipv6'))
        return `${name} is in the service range ${serviceCidr}`;
      return undefined;
    },
  };
}
