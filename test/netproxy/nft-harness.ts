/** Loads a full nftables render into a model, and traces packets through it. */
import { NftModel } from '../../netproxy/nftables-model.ts';
import { emptyNftMemory, renderNftables } from '../../netproxy/nftables-renderer.ts';
import type { ProxyConfig } from '../../netproxy/iptables-renderer.ts';
import type { ServicePortState } from '../../netproxy/service-port.ts';
import { landing, type Packet, type TraceContext } from '../../netproxy/tracer.ts';
import { traceNftPacket } from '../../netproxy/nftables-tracer.ts';
import { testConfig, traceContext } from './fixtures.ts';

export function nftModelOf(state: ReadonlyMap<string, ServicePortState>, config: ProxyConfig = testConfig): NftModel {
  const model = new NftModel();
  model.apply(renderNftables({ state, config, changed: 'all', memory: emptyNftMemory }).transaction);
  return model;
}

/** Where a packet lands, as [label, probability] pairs (see landing()). */
export function landsNft(
  model: NftModel,
  pkt: Packet,
  origin: 'local' | 'forwarded' = 'forwarded',
  ctx: TraceContext = traceContext,
): [string, number][] {
  return [...landing(traceNftPacket(model, pkt, origin, ctx))];
}
