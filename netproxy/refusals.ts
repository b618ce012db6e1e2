/**
 * Traffic the proxy refuses on purpose, shared by both backends: REJECT for a port with no usable
 * endpoint (the client fails at once instead of timing out), DROP for a Local policy with no
 * endpoint on this node (another node may still answer the client's retry).
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
  verdict: 'REJECT' | 'DROP';
  /** `-j` argument: the verdict with its options. */
  target: string;
}

/**
 * TCP is refused with a reset: on this kernel (6.18) an ICMP port-unreachable answering the first
 * SYN does not fail connect() at once; the client waits for the SYN retransmit (measured: 1.02 s
 * with ICMP, 29 ms with a reset). UDP and SCTP have only the ICMP answer.
 */
function targetOf(verdict: Refusal['verdict'], port: ServicePortState): string {
  if (verdict === 'DROP') return 'DROP';
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
  if (verdict === undefined) return out;
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
