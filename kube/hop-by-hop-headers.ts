/**
 * Headers that describe one connection, not the message (RFC 9110 7.6.1), which a proxy never
 * forwards: the API server's pods/services proxy and the agent's ingress proxy both drop them.
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
