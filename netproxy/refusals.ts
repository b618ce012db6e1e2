/**
 * Traffic the proxy refuses on purpose, shared by both backends: REJECT for a port with no usable
 * endpoint (the client fails at once instead of timing out), DROP for a Local policy with no
 * endpoint on this node (another node may still answer the client's retry), DROP for clients
 * outside a Service's loadBalancerSourceRanges reaching its load-balancer IPs (after a RETURN for
 * each listed range, so the rules also hold where the destination is still the load-balancer IP
 * when filtered, as in the IPVS mode).
 */
import { chains } from './chain-names.ts';
import {
  externalAddresses,
  hasExternalEntry,
  internalTargets,
  type ServicePortState,
  type TrafficTargets,
} from './service-port.ts';

interface Refusal {
  /** filter chain of ours */
  chain: string;
  comment: string;
  /** match arguments, without the target */
  match: string;
  /** RETURN lets a listed source range past the DROP that follows it. */
  verdict: 'REJECT' | 'DROP' | 'RETURN';
  /** `-j` argument: the verdict with its options. */
  target: string;
}

/**
 * TCP is refused with a reset: on this kernel (6.18) an ICMP port-unreachable answering the first
 * SYN does not fail connect() at once; the client waits for the SYN retransmit (measured: 1.02 s
 * with ICMP, 29 ms with a reset). UDP and SCTP have only the ICMP answer.
 */
function targetOf(verdict: Refusal['verdict'], port: ServicePortState): string {
  if (verdict !== 'REJECT') return verdict;
  return port.protocol === 'tcp' ? 'REJECT --reject-with tcp-reset' : 'REJECT';
}

export function refusals(port: ServicePortState, targets: TrafficTargets): Refusal[] {
  const out: Refusal[] = [];
  const proto = `-p ${port.protocol} -m ${port.protocol}`;
  const none = targets.cluster.length === 0;
  const comment = `${port.key} has no ${none ? '' : 'local '}endpoints`;
  if (port.clusterIP !== undefined && internalTargets(port, targets).length === 0) {
    out.push({
      chain: chains.services,
      comment,
      match: `-d ${port.clusterIP}/32 ${proto} --dport ${port.port}`,
      verdict: none ? 'REJECT' : 'DROP',
      target: targetOf(none ? 'REJECT' : 'DROP', port),
    });
  }
  if (!hasExternalEntry(port)) return out;
  let verdict: Refusal['verdict'] | undefined;
  if (none) verdict = 'REJECT';
  else if (port.externalPolicyLocal && targets.local.length === 0) verdict = 'DROP';
  if (verdict === undefined) return [...out, ...firewall(port, proto)];
  for (const ip of externalAddresses(port))
    out.push({
      chain: chains.externalServices,
      comment,
      match: `-d ${ip}/32 ${proto} --dport ${port.port}`,
      verdict,
      target: targetOf(verdict, port),
    });
  if (port.nodePort > 0)
    out.push({
      chain: chains.externalServices,
      comment,
      match: `-m addrtype --dst-type LOCAL ${proto} --dport ${port.nodePort}`,
      verdict,
      target: targetOf(verdict, port),
    });
  return out;
}

/** loadBalancerSourceRanges: listed clients pass, every other one is dropped. */
function firewall(port: ServicePortState, proto: string): Refusal[] {
  if (port.loadBalancerSourceRanges.length === 0) return [];
  const comment = `${port.key} traffic not accepted by loadBalancerSourceRanges`;
  return port.loadBalancerIPs.flatMap((ip) => {
    const match = `-d ${ip}/32 ${proto} --dport ${port.port}`;
    return [
      ...port.loadBalancerSourceRanges.map(
        (range): Refusal => ({
          chain: chains.externalServices,
          comment,
          match: `${match} -s ${range}`,
          verdict: 'RETURN',
          target: 'RETURN',
        }),
      ),
      { chain: chains.externalServices, comment, match, verdict: 'DROP', target: 'DROP' },
    ];
  });
}
