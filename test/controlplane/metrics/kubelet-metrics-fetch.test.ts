/**
 * One scrape over real TLS, as the server makes it: the kubelet must present a serving certificate
 * of the cluster CA for its address, the server presents its kubelet client certificate, and an
 * answer that is not 200, too large, or too slow fails that scrape and nothing else.
 */
import test from 'ava';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { directDialer } from '../../../controlplane/api/kubelet-dialer.ts';
import { kubeletMetricsFetcher } from '../../../controlplane/metrics/kubelet-metrics-fetch.ts';

const clusterCa = createCertificateAuthority('cluster');
const strangerCa = createCertificateAuthority('stranger');
const client = issueCertificate(clusterCa, { commonName: 'kube-apiserver-kubelet-client', usage: 'client' });
const clientTls = { ca: clusterCa.cert, cert: client.cert, key: client.key };

type Answer = (res: import('node:http').ServerResponse) => void;

async function kubelet(
  ca: typeof clusterCa,
  answer: Answer,
): Promise<{ port: number; peers: string[]; server: Server }> {
  const serving = issueCertificate(ca, { commonName: 'system:node:n1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const peers: string[] = [];
  const server = createServer(
    { cert: serving.cert, key: serving.key, ca: clusterCa.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      peers.push(
        `${String(socket.getPeerCertificate()?.subject?.CN ?? '')}${socket.isSessionReused() ? ' (resumed)' : ''}`,
      );
      answer(res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, peers, server };
}

const fetcher = kubeletMetricsFetcher(directDialer, () => clientTls, 64 * 1024);
const target = (port: number) => ({ node: 'n1', host: '127.0.0.1', port });
const closeLater = (t: import('ava').ExecutionContext, server: Server) =>
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });

test('the kubelet of the cluster CA answers, seeing the API server’s client certificate; the next scrape resumes the session', async (t) => {
  const k = await kubelet(clusterCa, (res) => res.writeHead(200).end('node_cpu_usage_seconds_total 1 1\n'));
  closeLater(t, k.server);
  t.is(await fetcher(target(k.port), new AbortController().signal), 'node_cpu_usage_seconds_total 1 1\n');
  await fetcher(target(k.port), new AbortController().signal);
  t.deepEqual(k.peers, ['kube-apiserver-kubelet-client', 'kube-apiserver-kubelet-client (resumed)']);
});

test('a kubelet whose certificate another CA signed is refused before anything is sent', async (t) => {
  const k = await kubelet(strangerCa, (res) => res.writeHead(200).end('node_cpu_usage_seconds_total 1 1\n'));
  closeLater(t, k.server);
  await t.throwsAsync(fetcher(target(k.port), new AbortController().signal));
  t.deepEqual(k.peers, []);
});

test('not 200, too large, or no answer before the deadline: the scrape fails', async (t) => {
  const failing = await kubelet(clusterCa, (res) => res.writeHead(503).end('busy'));
  closeLater(t, failing.server);
  await t.throwsAsync(fetcher(target(failing.port), new AbortController().signal), { message: /status: "503/ });
  const huge = await kubelet(clusterCa, (res) => res.writeHead(200).end(Buffer.alloc(1024 * 1024, 'x')));
  closeLater(t, huge.server);
  await t.throwsAsync(fetcher(target(huge.port), new AbortController().signal), { message: /larger than 65536 bytes/ });
  const silent = await kubelet(clusterCa, () => undefined);
  closeLater(t, silent.server);
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(new Error('no answer in time')), 200);
  await t.throwsAsync(fetcher(target(silent.port), deadline.signal), { message: /no answer in time|abort/i });
});
