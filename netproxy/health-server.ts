/**
 * The proxy's HTTP endpoints: /healthz (kube-proxy's port 10256; 503 when syncs stall) and
 * /metrics (Prometheus text). The agent starts it at the address of --proxy-healthz-bind-address.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { processMetricsText } from '../kube/prometheus-text.ts';
import type { ProxyLogger } from './proxy-logger.ts';
import type { ServiceProxy } from './service-proxy.ts';

const defaultHealthzPort = 10256;
/** kube-proxy's --healthz-bind-address default: every IPv4 address, port 10256. */
export const defaultHealthzBindAddress = `0.0.0.0:${defaultHealthzPort}`;

export interface BindAddress {
  host: string;
  port: number;
}

/**
 * Pure: `ip:port` or `[ipv6]:port` as kube-proxy's --healthz-bind-address takes it; '' turns the
 * server off (undefined). Anything else is a message for the operator.
 */
export function parseHealthzBindAddress(text: string): BindAddress | undefined | { error: string } {
  if (text === '') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || isIP(host) === 0 || !Number.isInteger(port) || port > 65535) {
    return {
      error: `${text} is not an IP address with a port, such as ${defaultHealthzBindAddress} (empty: no health server)`,
    };
  }
  return { host, port };
}

/** `moreMetrics`: other families the agent serves beside the proxy's (NetworkPolicy's drop counters). */
export function createProxyHealthServer(
  proxy: Pick<ServiceProxy, 'health' | 'metrics'>,
  moreMetrics: () => string = () => '',
): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const h = proxy.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          lastUpdated:
            h.lastSyncAt === undefined ? null : new Date(Date.now() - (performance.now() - h.lastSyncAt)).toISOString(),
          currentTime: new Date().toISOString(),
          healthy: h.ok,
          reason: h.reason,
        }),
      );
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(proxy.metrics.text() + moreMetrics() + processMetricsText());
      return;
    }
    res.writeHead(404).end();
  });
}

/**
 * Serves `server` at `bind` until the signal aborts. As kube-proxy does, a port that cannot be
 * opened (another process holds it) is logged and tried again every `retryMs`, never fatal: the
 * proxy's rules matter more than its health endpoint.
 */
export async function serveProxyHealth(
  server: Server,
  bind: BindAddress,
  signal: AbortSignal,
  log: ProxyLogger,
  retryMs = 5_000,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bind.port, bind.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      log.warn(
        { err: (err as Error).message, address: `${bind.host}:${bind.port}`, retryMs },
        'proxy health server cannot listen; trying again',
      );
      await sleep(retryMs, undefined, { signal }).catch(() => {});
    }
  }
  if (!server.listening) return;
  if (!signal.aborted)
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
