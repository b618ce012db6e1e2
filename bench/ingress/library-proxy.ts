/**
 * A reverse proxy built on http-proxy-3, the maintained proxy library the ingress bench measures
 * beside the agent's own proxy: `node library-proxy.ts <port> <target-url>`. It forwards every
 * request to one target over kept-alive connections and sets X-Forwarded-*, which is the proxying
 * part of the ingress proxy without its routing; prints "listening" once it accepts connections.
 */
import { Agent, createServer } from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const [portText, target] = process.argv.slice(2);
if (portText === undefined || target === undefined) {
  process.stderr.write('usage: library-proxy.ts <port> <target-url>\n');
  process.exit(2);
}
const proxy = createProxyServer({ target, xfwd: true, agent: new Agent({ keepAlive: true, maxSockets: 64 }) });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.listen(Number(portText), '0.0.0.0', () => process.stdout.write('listening\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
