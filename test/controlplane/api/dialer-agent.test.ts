/**
 * The connection pool the aggregator reaches extension servers with: every TCP connection is opened
 * by the dialer it is given (the egress proxy in a cluster whose server has no route to pods), TLS
 * is checked against the request's CA and server name as over any socket, and kept-alive
 * connections are used again without dialling.
 */
import test from 'ava';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { DialerAgent } from '../../../controlplane/api/dialer-agent.ts';
import { directDialer, type KubeletDialer } from '../../../controlplane/api/kubelet-dialer.ts';

const ca = createCertificateAuthority('dialer-test-ca');
const serving = issueCertificate(ca, { commonName: 'api.ext.svc', dnsNames: ['api.ext.svc'], usage: 'server' });
const stranger = createCertificateAuthority('someone-else');
let server: Server;
let port = 0;

test.before(async () => {
  server = createServer({ key: serving.key, cert: serving.cert }, (_req, res) => res.end('served'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

test.after.always(() => {
  server.closeAllConnections();
  server.close();
});

/** Dials the test server whatever address is asked for, and notes what was asked. */
function recordingDialer(asked: string[]): KubeletDialer {
  return (host, wanted) => {
    asked.push(`${host}:${wanted}`);
    return directDialer('127.0.0.1', port);
  };
}

function get(agent: DialerAgent, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      // a pod address this machine has no route to: only the dialer can reach it
      { host: '10.244.7.9', port: 4443, servername: 'api.ext.svc', ca, path: '/', agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('connections are opened by the dialer and kept for the next request', async (t) => {
  const asked: string[] = [];
  const agent = new DialerAgent(recordingDialer(asked), { keepAlive: true });
  t.is(await get(agent, ca.cert), 'served');
  t.is(await get(agent, ca.cert), 'served');
  t.deepEqual(asked, ['10.244.7.9:4443'], 'dialled once, for the pod address');
  agent.destroy();
});

test('the server certificate is still checked against the caBundle over a dialled socket', async (t) => {
  const agent = new DialerAgent(recordingDialer([]));
  await t.throwsAsync(() => get(agent, stranger.cert), { message: /self-signed|unable to verify|certificate/i });
  agent.destroy();
});

test('a dial that fails fails the request', async (t) => {
  const agent = new DialerAgent(() => Promise.reject(new Error('the egress proxy refused 10.244.7.9:4443')));
  await t.throwsAsync(() => get(agent, ca.cert), { message: 'the egress proxy refused 10.244.7.9:4443' });
  agent.destroy();
});
