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
  /** Every request seen: method, path with query, the client certificate's CN, and when its connection was accepted (ms, performance.now()). */
  readonly requests: { method: string; path: string; clientCN: string; connectedAt: number }[];
  /** Connections accepted that have carried no request yet. */
  readonly unused: () => number;
  /** Closes every connection that has carried no request (as a restarted kubelet would). */
  dropUnused(): void;
  close(): Promise<void>;
}

export async function startFakeKubelet(dataDir: string): Promise<FakeKubelet> {
  const ca = {
    cert: readFileSync(join(dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(dataDir, 'pki/ca.key'), 'utf8'),
  };
  const serving = issueCertificate(ca, { commonName: 'system:node:n1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const requests: FakeKubelet['requests'] = [];
  const acceptedAt = new WeakMap<object, number>();
  const unused = new Set<TLSSocket>();
  const note = (req: IncomingMessage) => {
    unused.delete(req.socket as TLSSocket);
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      clientCN: String(peer?.subject?.CN ?? ''),
      connectedAt: acceptedAt.get(req.socket) ?? Number.NaN,
    });
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
  server.on('secureConnection', (socket: TLSSocket) => {
    acceptedAt.set(socket, performance.now());
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests,
    unused: () => unused.size,
    dropUnused: () => {
      for (const socket of unused) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        sockets.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
