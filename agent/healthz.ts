/**
 * The agent's /healthz on 127.0.0.1:10248 (the kubelet's port): 200 once the node is registered
 * and the runtime answers a quick Status call, 500 with the reason otherwise.
 */
import { createServer, type Server } from 'node:http';

type HealthCheck = () => Promise<{ ok: true } | { ok: false; reason: string }>;

export function createHealthzServer(check: HealthCheck): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    check().then(
      (result) => {
        res.writeHead(result.ok ? 200 : 500, { 'content-type': 'text/plain' });
        res.end(result.ok ? 'ok' : `${result.reason}\n`);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${err.message}\n`);
      },
    );
  });
}
