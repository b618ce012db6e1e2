/**
 * The proxy's HTTP endpoints: /healthz (kube-proxy's port 10256; 503 when syncs stall) and
 * /metrics (Prometheus text). The agent decides where to listen.
 */
import { createServer, type Server } from 'node:http';
import { processMetricsText } from '../kube/prometheus-text.ts';
import type { ServiceProxy } from './serviceProxy.ts';

export const defaultHealthzPort = 10256;

export function createProxyHealthServer(proxy: Pick<ServiceProxy, 'health' | 'metrics'>): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const h = proxy.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        lastUpdated: h.lastSyncAt === undefined ? null : new Date(Date.now() - (performance.now() - h.lastSyncAt)).toISOString(),
        currentTime: new Date().toISOString(),
        healthy: h.ok,
        reason: h.reason,
      }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(proxy.metrics.text() + processMetricsText());
      return;
    }
    res.writeHead(404).end();
  });
}
