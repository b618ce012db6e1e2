/**
 * A bounded HTTP load loop for `npm run bench -- ingress`, run inside the sandbox's hub namespace:
 * `count` GET requests to one URL, `concurrency` at a time, over keep-alive connections (HTTP/1.1,
 * or HTTPS verified against a CA for a server name). Prints one JSON line: the wall time and every
 * request's latency in ms, and how many failed. Never more than `count` requests, never longer
 * than the deadline.
 *
 *   node bench/ingress/load.ts '{"url":"http://10.244.1.5:8080/","count":2000,"concurrency":8}'
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

interface LoadSpec {
  url: string;
  count: number;
  concurrency: number;
  host?: string;
  /** PEM of the CA that signed the server's certificate (https only). */
  ca?: string;
  servername?: string;
  deadlineMs?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const target = new URL(spec.url);
const secure = target.protocol === 'https:';
const agent = secure
  ? new HttpsAgent({ keepAlive: true, maxSockets: spec.concurrency, ...(spec.ca ? { ca: spec.ca } : {}) })
  : new HttpAgent({ keepAlive: true, maxSockets: spec.concurrency });
const send = secure ? httpsRequest : httpRequest;
const deadline = performance.now() + (spec.deadlineMs ?? 120_000);

function once(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname,
        port: Number(target.port || (secure ? 443 : 80)),
        path: target.pathname,
        agent,
        headers: spec.host ? { host: spec.host } : {},
        ...(secure && spec.servername ? { servername: spec.servername } : {}),
        timeout: 10_000,
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const latencies: number[] = [];
let failed = 0;
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: spec.concurrency }, async () => {
    while (next < spec.count && performance.now() < deadline) {
      next++;
      try {
        latencies.push(await once());
      } catch {
        failed++;
      }
    }
  }),
);
const wallMs = performance.now() - started;
agent.destroy();
process.stdout.write(`${JSON.stringify({ wallMs, failed, latencies })}\n`);
