/**
 * Shared pieces of the LoadBalancer scenarios: a backend pod pinned to a node that answers with
 * its node's name and the client address it sees (busybox httpd passes it to CGI as REMOTE_ADDR),
 * and curl run from the sandbox's hub namespace, the machine outside the nodes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxCluster } from '../helpers/sandbox-cluster.ts';
import { inNetns } from '../../host/process/process.ts';
import { bedImages } from '../bed/index.ts';

/** A Pod manifest on `node` labelled app=<app>, serving /cgi-bin/who on 8080: "<node> <client address>". */
export function whoPod(name: string, app: string, node: string): object {
  const script = [
    'mkdir -p /www/cgi-bin',
    "echo '#!/bin/sh' > /www/cgi-bin/who",
    `echo 'echo "Content-Type: text/plain"; echo; echo "${node} $REMOTE_ADDR"' >> /www/cgi-bin/who`,
    'chmod 755 /www/cgi-bin/who',
    'exec httpd -f -p 8080 -h /www',
  ].join(' && ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'httpd', image: bedImages.busybox, command: ['sh', '-c', script], ports: [{ containerPort: 8080 }] },
      ],
    },
  };
}

/** A LoadBalancer Service of the pods labelled app=<app>, `port` to their 8080. */
export function lbService(name: string, port: number, policy: 'Cluster' | 'Local', app: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'LoadBalancer',
      selector: { app },
      externalTrafficPolicy: policy,
      ports: [{ port, targetPort: 8080 }],
    },
  };
}

interface CurlResult {
  code: number;
  /** HTTP status, 0 when none came back. */
  status: number;
  body: string;
}

/** One HTTP GET from the hub namespace, bounded by curl's own time limit. */
export function curlFromHub(hubNetns: string, url: string, maxSeconds = 3): Promise<CurlResult> {
  const [command, ...args] = inNetns(hubNetns, [
    'curl',
    '-s',
    '--max-time',
    String(maxSeconds),
    '-w',
    '\n%{http_code}',
    url,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const cut = out.lastIndexOf('\n');
      resolve({
        code: code ?? 1,
        status: Number(out.slice(cut + 1)) || 0,
        // httpd listens on IPv6 and prints an IPv4 client as [::ffff:a.b.c.d]
        body: out
          .slice(0, Math.max(cut, 0))
          .trim()
          .replace(/\[::ffff:([\d.]+)\]/, '$1'),
      });
    });
  });
}

/** Applies the objects as one List, from a file in the sandbox's folder. */
export async function applyList(cluster: SandboxCluster, file: string, items: object[]): Promise<void> {
  const manifest = join(cluster.sandbox().stateDir, file);
  writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await cluster.kubectl('apply', '-f', manifest);
}
