/** Loads an IPVS plan into a model plus a tracer context that knows its sets and servers. */
import { hookRules } from '../../netproxy/chain-names.ts';
import { insertHooks } from '../../netproxy/hooks.ts';
import { IptablesModel } from '../../netproxy/iptables-model.ts';
import { renderIpvs, type IpvsPlan } from '../../netproxy/ipvs-renderer.ts';
import type { ProxyConfig } from '../../netproxy/iptables-renderer.ts';
import type { ServicePortState } from '../../netproxy/service-port.ts';
import type { TraceContext } from '../../netproxy/tracer.ts';
import { testConfig, thisNode, traceContext } from './fixtures.ts';

export function ipvsSetup(
  state: ReadonlyMap<string, ServicePortState>,
  config: ProxyConfig = testConfig,
): { plan: IpvsPlan; model: IptablesModel; context: TraceContext } {
  const plan = renderIpvs(state, config, { nodePortAddresses: [thisNode.ip] });
  const model = new IptablesModel();
  model.restore(insertHooks(plan.iptablesPayload, hookRules));
  const servers = new Map(plan.virtualServers.map((v) => [`${v.protocol}|${v.address}|${v.port}`, v.reals]));
  const context: TraceContext = {
    localAddresses: [...traceContext.localAddresses, ...plan.interfaceAddresses],
    ipsets: plan.ipsets,
    ipvs: (protocol, dst, dport) => servers.get(`${protocol}|${dst}|${dport}`),
  };
  return { plan, model, context };
}
