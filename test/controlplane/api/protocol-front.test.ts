/**
 * The TLS front's HTTP/2 idle rule: a connection with no open stream for the idle timeout is closed
 * by the server (as Go's HTTP/2 server does with kube-apiserver's IdleTimeout), whatever pings the
 * client sends; a connection with a stream open, however quiet, is left alone.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { connect, type ClientHttp2Session } from 'node:http2';
import type { ServerResponse } from 'node:http';
import { selfSignedCertificatePem } from '../../../agent/certs/certificate-builder.ts';
import { ProtocolFront } from '../../../controlplane/api/protocol-front.ts';
import { waitFor } from '../../helpers/wait.ts';

const idleMs = 300;
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const cert = selfSignedCertificatePem(
  {
    commonName: 'front',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    sans: { dns: [], ips: ['127.0.0.1'] },
    keyEncipherment: false,
  },
  keys,
);
/** Responses held open by `/hold` until the test ends them. */
const held: ServerResponse[] = [];
const front = new ProtocolFront({
  tls: { key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert },
  onRequest: (req, res) => {
    if (req.url === '/hold') {
      res.writeHead(200);
      res.write('held\n');
      held.push(res);
      return;
    }
    res.end('ok');
  },
  onUpgrade: (_req, socket) => socket.destroy(),
  keepAliveTimeoutMs: 60_000,
  h2IdleTimeoutMs: idleMs,
});
let port = 0;

test.before(async () => {
  port = await front.listen(0, '127.0.0.1');
});
test.after.always(async () => {
  for (const res of held) res.end();
  await front.close();
});

async function session(): Promise<{ s: ClientHttp2Session; goaway: () => boolean; closed: () => boolean }> {
  const s = connect(`https://127.0.0.1:${port}`, { ca: cert });
  let goaway = false;
  let closed = false;
  s.on('goaway', () => (goaway = true));
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  await once(s, 'connect');
  return { s, goaway: () => goaway, closed: () => closed };
}

function get(s: ClientHttp2Session, path: string): Promise<string> {
  const stream = s.request({ ':path': path });
  stream.end();
  return new Promise((resolve, reject) => {
    let body = '';
    stream.setEncoding('utf8').on('data', (c: string) => {
      body += c;
      if (path === '/hold') resolve(body);
    });
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
  });
}

test('an HTTP/2 connection without streams is closed with a GOAWAY after the idle time, pings or not', async (t) => {
  const { s, goaway, closed } = await session();
  t.is(await get(s, '/'), 'ok');
  // a ping every 100 ms is activity on the connection, not a stream: it does not keep it open
  const pinger = setInterval(() => {
    if (!s.closed && !s.destroyed) s.ping(() => {});
  }, 100);
  try {
    await waitFor(async () => closed(), { what: 'the server closing an idle HTTP/2 connection', timeoutMs: 5_000 });
  } finally {
    clearInterval(pinger);
  }
  t.true(goaway(), 'the client was told by GOAWAY');
});

test('an HTTP/2 connection with a stream open stays, and goes once its last stream ends', async (t) => {
  const { s, closed } = await session();
  t.is(await get(s, '/hold'), 'held\n');
  const opened = Date.now();
  await waitFor(async () => Date.now() - opened > idleMs * 4, { what: 'four idle periods', timeoutMs: 5_000 });
  t.false(closed(), 'a quiet stream (a watch without events) keeps its connection');
  t.is(await get(s, '/'), 'ok', 'and the connection still serves');
  held.pop()!.end();
  await waitFor(async () => closed(), { what: 'the close after the last stream ended', timeoutMs: 5_000 });
});
