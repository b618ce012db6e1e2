/**
 * pods/proxy and services/proxy against a real server process with real identities. The server is
 * started with an egress proxy (`--kubelet-egress-socket`), played here by a CONNECT proxy on a
 * unix socket that records every address the server asks for and takes every connection to one
 * echo server on 127.0.0.1: pod addresses (10.244.x) are never dialled for real, and nothing
 * leaves loopback.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect as connectTls } from 'node:tls';
import { connect as http2Connect } from 'node:http2';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl } from '../kubectl-scenario.ts';
import { adminIdentity, call, startServerProcess, type HttpReply, type ServerProcess } from '../server-process.ts';

const dir = mkdtempSync(join(tmpdir(), `bosun-wproxy-${process.pid}-`));
const egressSocket = join(dir, 'egress.sock');
let server: ServerProcess | undefined;
let echo: HttpServer | undefined;
let egress: Server | undefined;
/** host:port of every CONNECT the server sent, in order. */
const dialled: string[] = [];
/** Targets the egress proxy answers with 502, as an unreachable pod. */
const unreachable = new Set<string>();
const open = new Set<Socket>();

function startEcho(): Promise<number> {
  echo = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/moved') {
        res.writeHead(302, { Location: '/elsewhere' });
        res.end();
        return;
      }
      const text = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-From-Pod': 'yes' });
      res.end(text);
    });
  });
  // A websocket-like upgrade: says where it was asked for, then answers every chunk in upper case.
  echo.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    open.add(socket);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Path: ${req.url}\r\nX-Credentials: ${req.headers.authorization ?? req.headers['impersonate-user'] ?? 'none'}\r\n\r\n`,
    );
    socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) =>
    echo!.listen(0, '127.0.0.1', () => resolve((echo!.address() as { port: number }).port)),
  );
}

function startEgress(echoPort: number): Promise<void> {
  egress = createServer((client) => {
    open.add(client);
    client.once('data', (head: Buffer) => {
      const target = /^CONNECT (\S+) HTTP/.exec(head.toString('latin1'))?.[1] ?? '?';
      dialled.push(target);
      if (unreachable.has(target)) {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
        return;
      }
      const upstream = connect(echoPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      open.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  return new Promise((resolve) => egress!.listen(egressSocket, resolve));
}

const pod = (name: string, ip: string, ports: object[] = []) => ({
  metadata: { name, labels: { app: name } },
  spec: { containers: [{ name: 'c', image: 'img:1', ports }] },
  status: { podIP: ip, podIPs: [{ ip }] },
});
const slice = (name: string, service: string, address: string, podName: string, ready = true) => ({
  metadata: { name, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: [
    { addresses: [address], conditions: { ready }, targetRef: { kind: 'Pod', namespace: 'default', name: podName } },
  ],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});

test.before(async () => {
  await startEgress(await startEcho());
  server = await startServerProcess({ datastore: 'sqlite', serverArgs: ['--kubelet-egress-socket', egressSocket] });
  const admin = adminIdentity(server.dataDir);
  const create = async (path: string, body: { metadata: { name: string }; status?: unknown }) => {
    const made = await call(server!, 'POST', path, admin, body);
    if (made.status !== 201)
      throw new Error(`${path} ${body.metadata.name}: ${made.status} ${JSON.stringify(made.body)}`);
    if (body.status)
      await call(
        server!,
        'PATCH',
        `${path}/${body.metadata.name}/status`,
        admin,
        { status: body.status },
        'application/merge-patch+json',
      );
  };
  await create('/api/v1/namespaces/default/pods', pod('web', '10.244.1.5', [{ name: 'http', containerPort: 8080 }]));
  await create('/api/v1/namespaces/default/pods', pod('loopback', '127.0.0.1', [{ containerPort: 80 }]));
  await create('/api/v1/namespaces/default/pods', pod('metadata', '169.254.169.254', [{ containerPort: 80 }]));
  await create('/api/v1/namespaces/default/pods', pod('down', '10.244.1.9', [{ containerPort: 80 }]));
  for (const name of ['web', 'empty', 'forged', 'local', 'unready']) {
    await create('/api/v1/namespaces/default/services', {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    } as never);
  }
  const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
  await create(slices, slice('web-1', 'web', '10.244.1.5', 'web'));
  // Names a real pod, but an address that is not that pod's: never dialled.
  await create(slices, slice('forged-1', 'forged', '10.9.9.9', 'web'));
  await create(slices, slice('local-1', 'local', '127.0.0.1', 'loopback'));
  await create(slices, slice('unready-1', 'unready', '10.244.1.5', 'web', false));
  for (const [user, role] of [
    ['viewer', 'view'],
    ['editor', 'edit'],
  ] as const) {
    await create('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      metadata: { name: `${user}-${role}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'User', name: user }],
    } as never);
  }
});

test.after.always(async () => {
  for (const socket of open) socket.destroy();
  await server?.destroy();
  await new Promise((resolve) => (egress ? egress.close(resolve) : resolve(undefined)));
  echo?.closeAllConnections();
  await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

const admin = () => adminIdentity(server!.dataDir);

/** Runs a request and returns its reply with the addresses the server asked the egress proxy for meanwhile. */
async function proxied(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ reply: HttpReply; dialled: string[] }> {
  const before = dialled.length;
  const reply = await call(server!, method, path, admin(), body, 'text/plain', headers);
  return { reply, dialled: dialled.slice(before) };
}

test.serial(
  'pods/proxy sends method, path (trailing slash kept), query, body and headers to the pod, never the credentials',
  async (t) => {
    const { reply, dialled: to } = await proxied(
      'POST',
      '/api/v1/namespaces/default/pods/web/proxy/api/items/?q=1&x=a%20b',
      'hello',
      { 'X-Custom': 'kept', 'Impersonate-Extra-Scopes': 'secret' },
    );
    t.is(reply.status, 201);
    t.deepEqual(to, ['10.244.1.5:8080'], 'the first declared container port');
    t.is(reply.headers['x-from-pod'], 'yes');
    t.is(reply.body.method, 'POST');
    t.is(reply.body.url, '/api/items/?q=1&x=a%20b');
    t.is(reply.body.body, 'hello');
    t.is(reply.body.headers['x-custom'], 'kept');
    t.is(reply.body.headers['x-forwarded-for'], '127.0.0.1');
    t.is(reply.body.headers.host, '10.244.1.5:8080');
    t.false(Object.keys(reply.body.headers).some((h) => h === 'authorization' || h.startsWith('impersonate-')));

    t.deepEqual(
      (await proxied('GET', '/api/v1/namespaces/default/pods/web:http/proxy')).dialled,
      ['10.244.1.5:8080'],
      'a named container port',
    );
    const numbered = await proxied('GET', '/api/v1/namespaces/default/pods/http:web:9090/proxy/x');
    t.deepEqual(numbered.dialled, ['10.244.1.5:9090']);
    t.is(numbered.reply.body.url, '/x');
    // A redirect from the pod comes back as it is.
    const moved = await proxied('GET', '/api/v1/namespaces/default/pods/web/proxy/moved');
    t.is(moved.reply.status, 302);
    t.is(moved.reply.headers.location, '/elsewhere');
  },
);

test.serial(
  'services/proxy picks a ready endpoint of the port asked for, by name or by Service port number',
  async (t) => {
    const byName = await proxied('GET', '/api/v1/namespaces/default/services/web:http/proxy/?a=b');
    t.is(byName.reply.status, 201);
    t.deepEqual(byName.dialled, ['10.244.1.5:8080']);
    t.is(byName.reply.body.url, '/?a=b');
    t.deepEqual((await proxied('GET', '/api/v1/namespaces/default/services/web:80/proxy/')).dialled, [
      '10.244.1.5:8080',
    ]);
    // The same through kubectl, as dashboards' `kubectl get --raw` recipes use it.
    const raw = await kubectl(server!, [
      'get',
      '--raw',
      '/api/v1/namespaces/default/services/http:web:http/proxy/status?full=1',
    ]);
    t.is(raw.code, 0, raw.stderr);
    t.is(JSON.parse(raw.stdout).url, '/status?full=1');
    const noPort = await proxied('GET', '/api/v1/namespaces/default/services/web:81/proxy/');
    t.is(noPort.reply.status, 503);
    t.is(noPort.reply.body.message, 'no service port 81 found for service "web"');
    t.deepEqual(noPort.dialled, []);
  },
);

test.serial(
  'refused: loopback and link-local pods, forged and unready endpoints, missing objects, malformed names',
  async (t) => {
    const cases: [string, number, string][] = [
      ['/api/v1/namespaces/default/pods/loopback/proxy/', 400, 'address not allowed'],
      ['/api/v1/namespaces/default/pods/metadata/proxy/latest/meta-data', 400, 'address not allowed'],
      ['/api/v1/namespaces/default/pods/nope/proxy/', 404, 'pods "nope" not found'],
      ['/api/v1/namespaces/default/pods/a:b:c:d/proxy/', 400, 'invalid pod request "a:b:c:d"'],
      ['/api/v1/namespaces/default/services/ftp:web:21/proxy/', 400, 'invalid service request "ftp:web:21"'],
      ['/api/v1/namespaces/default/services/nope/proxy/', 404, 'services "nope" not found'],
      ['/api/v1/namespaces/default/services/empty/proxy/', 503, 'no endpoints available for service "empty"'],
      ['/api/v1/namespaces/default/services/unready:http/proxy/', 503, 'no endpoints available for service "unready"'],
      [
        '/api/v1/namespaces/default/services/forged:http/proxy/',
        503,
        'no endpoints available for service "forged:http"',
      ],
      ['/api/v1/namespaces/default/services/local:http/proxy/', 503, 'no endpoints available for service "local:http"'],
    ];
    for (const [path, code, message] of cases) {
      const { reply, dialled: to } = await proxied('GET', path);
      t.is(reply.status, code, path);
      t.is(reply.body.message, message, path);
      t.deepEqual(to, [], `${path}: nothing dialled`);
    }
    unreachable.add('10.244.1.9:80');
    const down = await proxied('GET', '/api/v1/namespaces/default/pods/down/proxy/');
    t.is(down.reply.status, 503);
    t.regex(down.reply.body.message, /^error trying to reach service: /);
    // The server still answers ordinary requests.
    t.is((await call(server!, 'GET', '/api/v1/namespaces/default/pods/web', admin())).status, 200);
  },
);

test.serial(
  'authorized per subresource and verb: view may not proxy, edit may; GET is get, POST is create',
  async (t) => {
    const as = async (user: string, method: string, path: string) => {
      let result = await proxied(method, path, undefined, { 'Impersonate-User': user });
      // The policy cache reloads shortly after a new binding.
      for (
        let i = 0;
        i < 50 &&
        result.reply.status === 403 &&
        !new RegExp(`resource "(pods|services)/proxy"`).test(result.reply.body.message);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
        result = await proxied(method, path, undefined, { 'Impersonate-User': user });
      }
      return result;
    };
    const denied = await as('viewer', 'GET', '/api/v1/namespaces/default/pods/web/proxy/');
    t.is(denied.reply.status, 403);
    t.is(
      denied.reply.body.message,
      'pods "web" is forbidden: User "viewer" cannot get resource "pods/proxy" in API group "" in the namespace "default"',
    );
    t.deepEqual(denied.dialled, []);
    const post = await as('viewer', 'POST', '/api/v1/namespaces/default/services/web:http/proxy/');
    t.is(post.reply.status, 403);
    t.regex(post.reply.body.message, /cannot create resource "services\/proxy"/);
    t.deepEqual(post.dialled, []);
    // Viewers still read pods as before.
    t.is((await as('viewer', 'GET', '/api/v1/namespaces/default/pods/web')).reply.status, 200);
    const allowed = await as('editor', 'DELETE', '/api/v1/namespaces/default/services/web:http/proxy/item/7');
    t.is(allowed.reply.status, 201);
    t.is(allowed.reply.body.method, 'DELETE');
    t.is(allowed.reply.body.url, '/item/7');
    t.is(
      (await call(server!, 'GET', '/api/v1/namespaces/default/services/web', admin())).status,
      200,
      'the Service is still there',
    );
  },
);

/** Opens an upgraded connection through the server as the admin; resolves with the answer's head and the socket. */
function upgrade(path: string): Promise<{ head: string; send(text: string): Promise<string>; close(): void }> {
  const identity = admin();
  const socket = connectTls({
    host: '127.0.0.1',
    port: server!.port,
    ca: readFileSync(join(server!.dataDir, 'pki/ca.crt'), 'utf8'),
    cert: identity.cert,
    key: identity.key,
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('secureConnect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nImpersonate-User: editor\r\n\r\n`,
      ),
    );
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({
        head: text.slice(0, end),
        send: (message) =>
          new Promise((answered) => {
            socket.once('data', (c: Buffer) => answered(c.toString()));
            socket.write(message);
          }),
        close: () => socket.destroy(),
      });
    };
    socket.on('data', onData);
  });
}

test.serial(
  'an upgraded connection (websocket) reaches the pod through pods/proxy; a refused target answers with its status',
  async (t) => {
    const before = dialled.length;
    let ws = await upgrade('/api/v1/namespaces/default/pods/web/proxy/socket?room=1');
    // The policy cache reloads shortly after the bindings made at start.
    for (let i = 0; i < 50 && / 403 /.test(ws.head.split('\r\n')[0]!); i++) {
      ws.close();
      await new Promise((r) => setTimeout(r, 100));
      ws = await upgrade('/api/v1/namespaces/default/pods/web/proxy/socket?room=1');
    }
    t.regex(ws.head, /^HTTP\/1\.1 101 /);
    t.regex(ws.head, /^X-Path: \/socket\?room=1$/m);
    t.regex(ws.head, /^X-Credentials: none$/m, 'impersonation headers stay with the server');
    t.is(await ws.send('ping'), 'PING');
    ws.close();
    t.deepEqual(dialled.slice(before), ['10.244.1.5:8080']);
    const refused = await upgrade('/api/v1/namespaces/default/pods/loopback/proxy/socket');
    t.regex(refused.head, /^HTTP\/1\.1 400 /);
    refused.close();
    t.deepEqual(dialled.slice(before), ['10.244.1.5:8080'], 'nothing more dialled');
  },
);

test.serial('pods/proxy over HTTP/2: the pod gets an HTTP/1.1 request without the h2 pseudo-headers', async (t) => {
  const identity = admin();
  const session = http2Connect(server!.url, {
    ca: readFileSync(join(server!.dataDir, 'pki/ca.crt'), 'utf8'),
    cert: identity.cert!,
    key: identity.key!,
  });
  t.teardown(() => session.close());
  const stream = session.request({
    ':method': 'POST',
    ':path': '/api/v1/namespaces/default/pods/web/proxy/h2?x=1',
    'content-type': 'text/plain',
    'x-custom': 'kept',
  });
  stream.end('over h2');
  const [headers] = (await once(stream, 'response')) as [Record<string, string>];
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  t.is(Number(headers[':status']), 201, Buffer.concat(chunks).toString());
  t.is(headers['x-from-pod'], 'yes');
  const seen = JSON.parse(Buffer.concat(chunks).toString());
  t.is(seen.method, 'POST');
  t.is(seen.url, '/h2?x=1');
  t.is(seen.body, 'over h2');
  t.is(seen.headers['x-custom'], 'kept');
  t.is(seen.headers.host, '10.244.1.5:8080');
  t.deepEqual(
    Object.keys(seen.headers).filter((name) => name.startsWith(':')),
    [],
  );
});
