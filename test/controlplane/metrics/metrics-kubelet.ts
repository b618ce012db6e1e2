/**
 * A stand-in kubelet port that serves /metrics/resource, for the resource metrics API: HTTPS with
 * a serving certificate from the cluster CA, client certificates required. It measures pods at the
 * rates it is given (cumulative CPU grows with the clock), and can be told to fail (500), to hang
 * (never answer) or to send garbage; it records who asked.
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';

interface MeasuredContainer {
  readonly name: string;
  /** CPU used, in cores (0.25 = 250m). */
  readonly cores: number;
  readonly memoryBytes: number;
}

interface MeasuredPod {
  readonly namespace: string;
  readonly name: string;
  readonly containers: readonly MeasuredContainer[];
}

type KubeletMode = 'ok' | 'fail' | 'hang' | 'garbage';

export interface MetricsKubelet {
  readonly port: number;
  /** Client certificate CNs of every /metrics/resource request. */
  readonly scrapedBy: string[];
  /** When each came (ms since the epoch). */
  readonly scrapedAt: number[];
  node: { cores: number; memoryBytes: number };
  pods: MeasuredPod[];
  mode: KubeletMode;
  close(): Promise<void>;
}

/** The text a kubelet serves at `nowMs` for work that began at `sinceMs` (metrics.ts's names). */
function resourceMetricsText(
  node: { cores: number; memoryBytes: number },
  pods: readonly MeasuredPod[],
  sinceMs: number,
  nowMs: number,
): string {
  const seconds = (nowMs - sinceMs) / 1000;
  const lines = [
    '# TYPE node_cpu_usage_seconds_total counter',
    `node_cpu_usage_seconds_total ${node.cores * (seconds + 1000)} ${nowMs}`,
    '# TYPE node_memory_working_set_bytes gauge',
    `node_memory_working_set_bytes ${node.memoryBytes} ${nowMs}`,
  ];
  for (const pod of pods)
    for (const c of pod.containers) {
      const labels = `container="${c.name}",namespace="${pod.namespace}",pod="${pod.name}"`;
      lines.push(
        `container_cpu_usage_seconds_total{${labels}} ${c.cores * (seconds + 100)} ${nowMs}`,
        `container_memory_working_set_bytes{${labels}} ${c.memoryBytes} ${nowMs}`,
        `container_start_time_seconds{${labels}} ${Math.floor(sinceMs / 1000) - 100}`,
      );
    }
  return `${lines.join('\n')}\n`;
}

/** A serving certificate for 127.0.0.1 from the cluster CA (one may serve many stand-ins). */
export function kubeletServing(dataDir: string, nodeName: string): { cert: string; key: string; ca: string } {
  const ca = {
    cert: readFileSync(join(dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(dataDir, 'pki/ca.key'), 'utf8'),
  };
  const pair = issueCertificate(ca, {
    commonName: `system:node:${nodeName}`,
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  return { ...pair, ca: ca.cert };
}

export async function startMetricsKubelet(
  dataDir: string,
  nodeName: string,
  serving = kubeletServing(dataDir, nodeName),
): Promise<MetricsKubelet> {
  const ca = { cert: serving.ca };
  const since = Date.now();
  const hung = new Set<import('node:http').ServerResponse>();
  const kubelet: Omit<MetricsKubelet, 'port' | 'close'> = {
    scrapedBy: [],
    scrapedAt: [],
    node: { cores: 1, memoryBytes: 1024 * 1024 * 1024 },
    pods: [],
    mode: 'ok',
  };
  const server: Server = createServer(
    { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      if (req.url !== '/metrics/resource') {
        res.writeHead(404).end();
        return;
      }
      kubelet.scrapedAt.push(Date.now());
      kubelet.scrapedBy.push(String((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN ?? ''));
      switch (kubelet.mode) {
        case 'hang':
          hung.add(res);
          return;
        case 'fail':
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('broken');
          return;
        case 'garbage':
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('{"this is": not prometheus text}\n');
          return;
        case 'ok':
          res
            .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' })
            .end(resourceMetricsText(kubelet.node, kubelet.pods, since, Date.now()));
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return Object.assign(kubelet, {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
