/**
 * Which streams the kubelet translates between what the client offers and what the runtime speaks
 * (stream-translation.ts does it): decided from the upgrade's headers and query alone, without the
 * websocket library, which the agent loads only for a stream it translates.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { StreamKind } from './streaming.ts';

export const channelV5 = 'v5.channel.k8s.io';
export const portForwardTunnel = 'SPDY/3.1+portforward.k8s.io';
/** The channel protocols containerd's streaming server accepts: a client offering one needs no help. */
const runtimeChannelProtocols = new Set([
  'channel.k8s.io',
  'base64.channel.k8s.io',
  'v2.channel.k8s.io',
  'v3.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
]);

type StreamTranslation = 'splice' | 'channel-v5-to-v4' | 'spdy-tunnel';

function offeredProtocols(headers: IncomingHttpHeaders): string[] {
  return (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** How this upgrade reaches the runtime: passed on as it is, or translated. */
export function chooseStreamTranslation(
  kind: StreamKind,
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
): StreamTranslation {
  if ((headers.upgrade ?? '').toLowerCase() !== 'websocket') return 'splice';
  const offered = offeredProtocols(headers);
  if (kind === 'portForward') return offered.includes(portForwardTunnel) ? 'spdy-tunnel' : 'splice';
  if (!offered.includes(channelV5) || offered.some((p) => runtimeChannelProtocols.has(p))) return 'splice';
  const stdin = ['stdin', 'input'].some((name) => query.get(name) === 'true' || query.get(name) === '1');
  return stdin ? 'splice' : 'channel-v5-to-v4';
}
