/**
 * The ingress proxy's HTTP side against real HTTP servers on loopback: routing by host and path,
 * forwarding headers, the retry after a refused connection, no traffic to terminating endpoints,
 * 404/503/413 answers, streamed responses, websockets, TLS by SNI with HTTP/2 through ALPN, a
 * replaced certificate served without a restart, the default certificate, metrics and access log.
 */
import test from 'ava';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Ingress } from '../../../kube/networkingv1.ts';
import type { Endpoint, ServicePortState } from '../../../netproxy/service-port.ts';
import { endpoint, portState } from './port-state.ts';
import { buildRouteTable } from '../../../agent/ingress/router.ts';
import { CertificateStore, defaultCertificate, wantedSecrets } from '../../../agent/ingress/certificates.ts';
import { IngressMetrics } from '../../../agent/ingress/metrics.ts';
import { IngressProxyServer } from '../../../agent/ingress/proxy-server.ts';
import { createTestCa } from './test-ca.ts';

interface Backend {
  server: Server;
  port: number;
  hits: number;
}

/** An HTTP server on loopback that answers who it is and what it got; /stream sends three chunks apart. */
async function backend(name: string): Promise<Backend> {
  const self: Backend = { server: createServer(), port: 0, hits: 0 };
  self.server.on('request', (req: IncomingMessage, res) => {
    self.hits++;
    if (req.url === '/hostile-header') {
      // fine in HTTP/1.1, a connection header HTTP/2 may not carry
      res.writeHead(200, { 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' });
      res.end('hostile');
      return;
    }
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const tick = setInterval(() => {
        res.write(`chunk ${n}\n`);
        if (++n === 3) {
          clearInterval(tick);
          res.end();
        }
      }, 100);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'x-backend': name });
      res.end(JSON.stringify({ name, url: req.url, headers: req.headers, body: Buffer.concat(chunks).length }));
    });
  });
  self.server.on('upgrade', (_req, socket) => {
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-backend: ${name}\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from(`${name}:`), d])));
  });
  await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
  self.port = (self.server.address() as AddressInfo).port;
  return self;
}

/** A port nothing listens on: a server opened and closed again. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const local = (port: number, extra: Partial<Endpoint> = {}): Endpoint =>
  endpoint('127.0.0.1', port, { local: true, ...extra });

const path = (p: string, service: string, port: { name?: string; number?: number }, pathType = 'Prefix') => ({
  path: p,
  pathType: pathType as 'Prefix',
  backend: { service: { name: service, port } },
});

const ingresses: Ingress[] = [
  {
    metadata: { name: 'site', namespace: 'web', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      ingressClassName: 'bosun',
      tls: [{ hosts: ['secure.example.com'], secretName: 'secure-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [path('/', 'alpha', { name: 'http' })] } },
        {
          host: 'b.example.com',
          http: {
            paths: [
              path('/', 'alpha', { name: 'http' }),
              path('/beta', 'beta', { number: 8080 }),
              path('/flaky', 'flaky', { number: 80 }),
              path('/draining', 'draining', { number: 80 }),
              path('/empty', 'empty', { number: 80 }),
            ],
          },
        },
        { host: 'secure.example.com', http: { paths: [path('/', 'beta', { number: 8080 })] } },
      ],
    },
  },
];

interface Fixture {
  proxy: IngressProxyServer;
  httpPort: number;
  httpsPort: number;
  alpha: Backend;
  beta: Backend;
  gamma: Backend;
  state: Map<string, ServicePortState>;
  certificates: CertificateStore;
  metrics: IngressMetrics;
  log: string[];
  ca: Awaited<ReturnType<typeof createTestCa>>;
}

let fixture: Fixture;

test.before(async () => {
  const alpha = await backend('alpha');
  const beta = await backend('beta');
  const gamma = await backend('gamma');
  const refused = await closedPort();
  const state = new Map<string, ServicePortState>();
  for (const s of [
    portState('web/alpha', 'http', 80, [local(alpha.port)]),
    portState('web/beta', '', 8080, [local(beta.port)]),
    // a dead endpoint and a live one: every request must still be answered
    portState('web/flaky', '', 80, [local(refused), local(alpha.port)]),
    portState('web/draining', '', 80, [local(gamma.port, { ready: false, terminating: true, serving: true })]),
    portState('web/empty', '', 80, []),
  ])
    state.set(s.key, s);
  const defaultPair = await defaultCertificate();
  const certificates = new CertificateStore(defaultPair);
  const ca = await createTestCa();
  const pair = await ca.issue(['secure.example.com']);
  certificates.update(wantedSecrets(ingresses).map((w) => ({ hosts: w.hosts, pair, source: w.name })));
  const metrics = new IngressMetrics();
  const log: string[] = [];
  const table = buildRouteTable(ingresses);
  const proxy = new IngressProxyServer({
    routes: () => table,
    endpoints: { state },
    certificates,
    defaultCertificate: defaultPair,
    metrics,
    accessLog: (line) => log.push(line),
    limits: { maxRequestBodyBytes: 1024 },
  });
  await proxy.listen('127.0.0.1', { http: 0, https: 0 });
  const ports = proxy.ports();
  fixture = {
    proxy,
    httpPort: ports.http!,
    httpsPort: ports.https!,
    alpha,
    beta,
    gamma,
    state,
    certificates,
    metrics,
    log,
    ca,
  };
});

test.after.always(async () => {
  await fixture?.proxy.close();
  fixture?.alpha.server.close();
  fixture?.beta.server.close();
  fixture?.gamma.server.close();
});

function get(
  host: string,
  target: string,
  options: { method?: string; body?: Buffer; headers?: Record<string, string>; chunked?: boolean } = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: fixture.httpPort,
        path: target,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (options.chunked && options.body) {
      // no Content-Length: the proxy only learns the size as the body streams in
      req.write(options.body.subarray(0, 512));
      setTimeout(() => req.end(options.body!.subarray(512)), 20);
    } else req.end(options.body);
  });
}

test('routes by host and by path to the Service port named or numbered', async (t) => {
  t.is((await get('a.example.com', '/anything')).json.name, 'alpha');
  t.is((await get('b.example.com', '/')).json.name, 'alpha');
  t.is((await get('b.example.com', '/beta/x?y=1')).json.name, 'beta');
  t.is((await get('b.example.com', '/beta/x?y=1')).json.url, '/beta/x?y=1', 'the request target goes on unchanged');
  t.is((await get('B.Example.com:8080', '/beta')).json.name, 'beta');
});

test('no rule: 404; a Service without ready endpoints: 503; only terminating endpoints: 503', async (t) => {
  const miss = await get('nowhere.example.com', '/');
  t.is(miss.status, 404);
  t.is((await get('b.example.com', '/empty')).status, 503);
  t.is((await get('b.example.com', '/draining')).status, 503);
  t.is(fixture.gamma.hits, 0, 'the terminating endpoint got nothing');
});

test('X-Forwarded-For/Proto/Host are the proxy own, never what the client claims', async (t) => {
  const reply = await get('a.example.com', '/', {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example.com',
      connection: 'keep-alive, x-drop',
      'x-drop': '1',
    },
  });
  const headers = reply.json.headers;
  t.is(headers['x-forwarded-for'], '127.0.0.1');
  t.is(headers['x-forwarded-proto'], 'http');
  t.is(headers['x-forwarded-host'], 'a.example.com');
  t.is(headers.host, 'a.example.com');
  t.is(headers['x-drop'], undefined, 'headers the client named in Connection are hop-by-hop');
  t.is(reply.headers['x-backend'], 'alpha');
});

test('a refused connection is tried once more on another ready endpoint: no request is lost', async (t) => {
  const answers = await Promise.all(Array.from({ length: 20 }, () => get('b.example.com', '/flaky')));
  t.deepEqual(
    answers.map((a) => a.status),
    Array(20).fill(200),
  );
  t.regex(fixture.metrics.text(), /bosun_ingress_upstream_retries_total \d+/);
  t.notRegex(fixture.metrics.text(), /bosun_ingress_upstream_retries_total 0\b/);
});

test('a body over the limit is refused with 413, declared or streamed', async (t) => {
  t.is((await get('a.example.com', '/', { method: 'POST', body: Buffer.alloc(2048) })).status, 413);
  const streamed = await get('a.example.com', '/', { method: 'POST', body: Buffer.alloc(4096), chunked: true }).catch(
    (err: Error) => ({ status: `reset: ${err.message}` }),
  );
  t.is(streamed.status, 413);
  const small = await get('a.example.com', '/', { method: 'POST', body: Buffer.alloc(100) });
  t.is(small.status, 200);
  t.is(small.json.body, 100);
});

test('a streamed response arrives as the backend writes it', async (t) => {
  const arrivals: number[] = [];
  const started = Date.now();
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: fixture.httpPort, path: '/stream', headers: { host: 'a.example.com' } },
      (res) => {
        let all = '';
        res.on('data', (c: Buffer) => {
          arrivals.push(Date.now() - started);
          all += c.toString();
        });
        res.on('end', () => resolve(all));
      },
    );
    req.on('error', reject);
    req.end();
  });
  t.is(text, 'chunk 0\nchunk 1\nchunk 2\n');
  t.true(arrivals.length >= 3, `three separate arrivals: ${arrivals.join(',')}`);
  t.true(arrivals[0]! < arrivals.at(-1)! - 100, 'the first chunk came well before the last');
});

test('a websocket upgrade is spliced through both ways', async (t) => {
  const socket = tcpConnect(fixture.httpPort, '127.0.0.1');
  socket.write('GET /chat HTTP/1.1\r\nhost: a.example.com\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
  let received = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received.includes('\r\n\r\n') && !received.includes('alpha:ping')) socket.write('ping');
      if (received.includes('alpha:ping')) resolve();
    });
  });
  socket.destroy();
  t.regex(received, /^HTTP\/1\.1 101 /);
  t.regex(received, /x-backend: alpha/);
});

function tlsHandshake(servername: string | undefined, ca?: string) {
  return new Promise<{ subject: string; protocol: string | false; authorized: boolean }>((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: fixture.httpsPort,
      ...(servername !== undefined ? { servername } : {}),
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: false,
      ...(ca ? { ca } : {}),
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve({
        subject: String(cert.subject?.CN ?? ''),
        protocol: socket.alpnProtocol ?? false,
        authorized: socket.authorized,
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

test.serial('TLS: the Secret certificate for its host by SNI, the default one otherwise, HTTP/2 by ALPN', async (t) => {
  const secure = await tlsHandshake('secure.example.com', fixture.ca.certPem);
  t.is(secure.subject, 'secure.example.com');
  t.true(secure.authorized, 'verified against the test CA');
  t.is(secure.protocol, 'h2');
  t.is((await tlsHandshake('other.example.com')).subject, 'bosun ingress default certificate');
  t.is((await tlsHandshake(undefined)).subject, 'bosun ingress default certificate');

  const session = h2connect(`https://127.0.0.1:${fixture.httpsPort}`, {
    ca: fixture.ca.certPem,
    servername: 'secure.example.com',
  });
  const body = await new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':path': '/over-h2', ':authority': 'secure.example.com' });
    let text = '';
    stream.on('data', (d: Buffer) => {
      text += d.toString();
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
    stream.end();
  });
  session.close();
  const json = JSON.parse(body);
  t.is(json.name, 'beta');
  t.is(json.headers['x-forwarded-proto'], 'https');
  t.is(json.headers.host, 'secure.example.com');
});

test.serial('a replaced certificate is served from the next handshake, without a restart', async (t) => {
  const renewed = await fixture.ca.issue(['secure.example.com'], 'secure.example.com renewed');
  fixture.certificates.update([{ hosts: ['secure.example.com'], pair: renewed, source: 'secure-tls' }]);
  t.is((await tlsHandshake('secure.example.com', fixture.ca.certPem)).subject, 'secure.example.com renewed');
  const broken = fixture.certificates.update([
    { hosts: ['secure.example.com'], pair: { certPem: renewed.certPem, keyPem: 'not a key' }, source: 'web/bad' },
  ]);
  t.is(broken.length, 1, 'a pair that cannot be used is reported');
  t.regex(broken[0]!, /^web\/bad: /);
});

test('metrics count requests by Ingress, Service and code, with a latency histogram; access log lines', async (t) => {
  await get('a.example.com', '/counted');
  const text = fixture.metrics.text();
  t.regex(text, /bosun_ingress_requests_total\{namespace="web",ingress="site",service="alpha",code="200"\} \d+/);
  t.regex(text, /bosun_ingress_requests_total\{namespace="",ingress="",service="",code="404"\} \d+/);
  t.regex(
    text,
    /bosun_ingress_request_duration_seconds_bucket\{namespace="web",ingress="site",service="alpha",le="\+Inf"\} \d+/,
  );
  const line = fixture.log.find((l) => l.includes('/counted'));
  t.regex(
    line ?? '',
    /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/counted HTTP\/1\.1" 200 \d+ "-" "-" "web\/site" "web\/alpha" "127\.0\.0\.1:\d+" \d+ms$/,
  );
});

test.serial('a response HTTP/2 cannot carry is a 502 for that request, and the proxy keeps serving', async (t) => {
  // which certificate answers is another test's concern (the one before leaves the default)
  const session = h2connect(`https://127.0.0.1:${fixture.httpsPort}`, {
    rejectUnauthorized: false,
    servername: 'secure.example.com',
  });
  session.on('error', (err) => t.fail(err.message));
  const status = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': path, ':authority': 'secure.example.com' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
  t.is(await status('/hostile-header'), 502);
  t.is(await status('/fine'), 200);
  session.close();
});

test('a port already taken: listen fails and lets go of the port it did bind, so it can be tried again', async (t) => {
  const pair = await defaultCertificate();
  const other = new IngressProxyServer({
    routes: () => buildRouteTable([]),
    endpoints: { state: new Map() },
    certificates: new CertificateStore(pair),
    defaultCertificate: pair,
    metrics: new IngressMetrics(),
  });
  const free = await closedPort();
  // HTTPS on the fixture's port, which is in use
  const error = await t.throwsAsync(other.listen('127.0.0.1', { http: free, https: fixture.httpsPort }));
  t.is((error as NodeJS.ErrnoException).code, 'EADDRINUSE');
  const again = createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(free, '127.0.0.1', resolve);
  });
  t.pass('the HTTP port was released');
  again.close();
});
