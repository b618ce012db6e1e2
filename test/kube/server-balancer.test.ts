/**
 * The agent's client-side balancer over real TLS servers on loopback: health checks reuse one
 * connection per server instead of a handshake each, the servers not in use are checked less
 * often than the one in use, and a dead current server is still left at once.
 */
import test from 'ava';
import { createServer, type Server } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { ServerBalancer } from '../../kube/server-balancer.ts';
import { waitFor } from '../helpers/wait.ts';

interface Stand {
  readonly url: string;
  readonly server: Server;
  handshakes: number;
  checks: number;
}

const ca = createCertificateAuthority('balancer-test-ca');
const serving = issueCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'], usage: 'server' });

async function standIn(): Promise<Stand> {
  const server = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    if (req.url === '/readyz') stand.checks++;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  const stand: Stand = { url: '', server, handshakes: 0, checks: 0 };
  server.on('secureConnection', () => stand.handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return Object.assign(stand, {
    url: `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  });
}

const closeStand = (stand: Stand) =>
  new Promise<void>((resolve) => {
    stand.server.closeAllConnections();
    stand.server.close(() => resolve());
  });

test('health checks reuse one TLS connection per server; servers not in use are checked a fifth as often', async (t) => {
  const first = await standIn();
  const second = await standIn();
  t.teardown(() => Promise.all([closeStand(first), closeStand(second)]));
  const balancer = new ServerBalancer({ servers: [first.url, second.url], ca: ca.cert, probeIntervalMs: 40 });
  t.teardown(() => balancer.close());
  await balancer.start();
  await waitFor(() => first.checks >= 20, { what: 'twenty health checks of the server in use', timeoutMs: 20_000 });
  t.is(balancer.current, first.url);
  t.true(first.handshakes <= 2, `${first.handshakes} TLS handshakes for ${first.checks} checks`);
  t.true(second.handshakes <= 2, `${second.handshakes} TLS handshakes for ${second.checks} checks`);
  t.true(second.checks >= 2, `the server not in use was checked ${second.checks} times`);
  t.true(second.checks * 3 <= first.checks, `checks: in use ${first.checks}, not in use ${second.checks}`);
});

test('a current server that dies is left for the next one at once, and checks go on against the new one', async (t) => {
  const first = await standIn();
  const second = await standIn();
  t.teardown(() => closeStand(second));
  const switches: string[] = [];
  const balancer = new ServerBalancer({
    servers: [first.url, second.url],
    ca: ca.cert,
    probeIntervalMs: 40,
    onSwitch: (_from, to) => switches.push(String(to)),
  });
  t.teardown(() => balancer.close());
  await balancer.start();
  await waitFor(() => balancer.current === first.url && first.checks >= 2, { what: 'the first server in use' });
  await closeStand(first);
  await waitFor(() => balancer.current === second.url, { what: 'a switch to the second server', timeoutMs: 10_000 });
  const before = second.checks;
  await waitFor(() => second.checks >= before + 5, { what: 'the new server checked at every interval' });
  t.deepEqual(switches.at(-1), second.url);
});

test('a connection whose server is switched away while it is still being made is closed or goes on, never left hanging', async (t) => {
  const first = await standIn();
  const second = await standIn();
  t.teardown(() => Promise.all([closeStand(first), closeStand(second)]));
  const balancer = new ServerBalancer({ servers: [first.url, second.url], ca: ca.cert, probeIntervalMs: 60_000 });
  t.teardown(() => balancer.close());
  const local = await balancer.start();
  const port = Number(new URL(local).port);
  // each client's arrival is met by a switch of the list: a switch ends the connections still being
  // made to the server it leaves; each client must then reach the other server or see its socket close
  const outcomes: string[] = [];
  for (let i = 0; i < 200; i++) {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.cert, servername: undefined });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve('left hanging');
      }, 3_000);
      socket.once('connect', () => balancer.setServers(i % 2 === 0 ? [second.url] : [first.url]));
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve('reached a server');
      });
      socket.once('close', () => {
        clearTimeout(timer);
        resolve('closed');
      });
      socket.on('error', () => {});
    });
    outcomes.push(outcome);
  }
  t.false(
    outcomes.includes('left hanging'),
    `${outcomes.filter((o) => o === 'left hanging').length} of 200 left hanging`,
  );
  // (a switch to a list without the server a connection was on closes it: nothing is left to try,
  // and the client connects again, as the agent's clients do)
});
