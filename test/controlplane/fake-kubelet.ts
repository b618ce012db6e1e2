/**
 * A stand-in for an agent's kubelet port, for testing the server's pods/log and pods/exec proxy:
 * HTTPS with a serving certificate from the cluster CA, client certificates required, serving
 * fixed log lines and a websocket exec that prints the command it was asked to run.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { issueCertificate } from '../../controlplane/pki/certificates.ts';

export interface FakeKubelet {
  readonly port: number;
  /** Every request seen: method, path with query, and the client certificate's CN. */
  readonly requests: { method: string; path: string; clientCN: string }[];
  close(): Promise<void>;
}

export async function startFakeKubelet(dataDir: string): Promise<FakeKubelet> {
  const ca = {
    cert: readFileSync(join(dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(dataDir, 'pki/ca.key'), 'utf8'),
  };
  const serving = issueCertificate(ca, { commonName: 'system:node:n1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const requests: FakeKubelet['requests'] = [];
  const note = (req: IncomingMessage) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    requests.push({ method: req.method ?? '', path: req.url ?? '', clientCN: String(peer?.subject?.CN ?? '') });
  };
  const server: Server = createServer(
    { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      note(req);
      const url = new URL(req.url ?? '/', 'https://kubelet');
      if (url.pathname === '/containerLogs/default/p1/main') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`log line 1\nlog line 2\ntail=${url.searchParams.get('tailLines') ?? ''}\n`);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    },
  );
  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) =>
      offered.has('v5.channel.k8s.io')
        ? 'v5.channel.k8s.io'
        : offered.has('v4.channel.k8s.io')
          ? 'v4.channel.k8s.io'
          : false,
  });
  server.on('upgrade', (req, socket, head) => {
    note(req);
    const url = new URL(req.url ?? '/', 'https://kubelet');
    if (!url.pathname.startsWith('/exec/default/p1/main')) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const command = url.searchParams.getAll('command').join(' ');
      // Channel 1 is stdout, channel 3 the final status, as the remote-command protocol has it.
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`ran: ${command}\n`)]));
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }))]));
      ws.close(1000);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
