/**
 * KubeClient over HTTP/2: its requests and watches are streams of one connection (and clients
 * with the same identity share it, as the agent's clients do), a watch it leaves unread stalls
 * nothing else, `protocol: 'http/1.1'` keeps the old path, and a server that goes away (GOAWAY on
 * close, then a restart on the same address) is met with a new connection and watches resumed
 * from their resourceVersion, without a relist.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { connect as http2Connect, constants } from 'node:http2';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../controlplane/server.ts';
import { Http2Transport } from '../../kube/http2-transport.ts';
import { KubeClient, type ClientConfig } from '../../kube/client.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import { freePort, waitFor } from '../controlplane/ports.ts';
import { userIdentity } from '../controlplane/server-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), `bosun-h2-client-${process.pid}-`));
let port = 0;
let server: RunningServer | undefined;
let admin: ClientConfig;

async function start(): Promise<RunningServer> {
  return startServer({
    dataDir,
    datastore: 'sqlite',
    etcdEndpoints: [],
    bindAddress: '127.0.0.1',
    securePort: port,
    advertiseAddress: '127.0.0.1',
    serviceCidr: '10.96.0.0/12',
    tlsSans: [],
    compactionIntervalMs: 3_600_000,
    bookmarkIntervalMs: 60_000,
    logger: pino({ level: 'silent' }),
    kubernetesVersion: 'v1.32.0',
  });
}

test.before(async () => {
  port = await freePort();
  server = await start();
  const pki = (name: string) => readFileSync(join(dataDir, 'pki', name), 'utf8');
  admin = { server: server.url, ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') };
});
test.after.always(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const configMap = (name: string, namespace: string, data: Record<string, string> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data }) as KubeObject;

async function namespace(client: KubeClient, name: string): Promise<string> {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/**
 * A TCP relay to the server that counts the connections its clients open: the test's clients
 * alone, not the server's own.
 */
async function countingRelay(t: { teardown(fn: () => void): void }): Promise<{ url: string; connections(): number }> {
  let connections = 0;
  const relay: Server = createServer((inbound) => {
    connections++;
    const outbound = connect(port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.teardown(() => relay.close());
  return { url: `https://127.0.0.1:${(relay.address() as { port: number }).port}`, connections: () => connections };
}

/** A cluster admin of its own, reaching the server through `url`. */
function ownAdmin(user: string, url: string): ClientConfig {
  const identity = userIdentity(dataDir, user, ['system:masters']);
  return { ...admin, server: url, cert: identity.cert!, key: identity.key! };
}

/** The server's accepted connections by protocol, since it started (its own clients' included). */
const accepted = () => server!.api.connections().accepted;

test.serial(
  'fifty requests and twenty watches at once travel on one HTTP/2 connection; HTTP/1.1 by option',
  async (t) => {
    const relay = await countingRelay(t);
    const before = accepted();
    // a user-agent and time limit of its own: the identity, not other settings, chooses the connection
    const identity = ownAdmin('h2-many', relay.url);
    const client = new KubeClient({ ...identity, userAgent: 'h2-many/1.0' });
    const lease = new KubeClient({ ...identity, timeoutMs: 10_000 });
    t.teardown(() => {
      client.close();
      lease.close();
    });
    const ns = await namespace(client, 'h2-many');
    const stop = new AbortController();
    const watches = Array.from({ length: 20 }, async () => {
      const seen: string[] = [];
      for await (const event of client.watch(refs.configmaps, { namespace: ns, signal: stop.signal })) {
        seen.push(event.object.metadata.name ?? '');
        if (seen.length === 50) break;
      }
      return seen.length;
    });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? lease : client).create(refs.configmaps, configMap(`cm-${i}`, ns))),
    );
    t.deepEqual(await Promise.all(watches), Array(20).fill(50));
    stop.abort();
    t.is(relay.connections(), 1, 'one connection for both clients, their requests and watches');
    t.is(accepted()['http/1.1'] - before['http/1.1'], 0, 'and it speaks HTTP/2');

    // the HTTP/1.1 path stays, behind the option
    const http1 = new KubeClient({ ...identity, protocol: 'http/1.1' });
    t.teardown(() => http1.close());
    t.is((await http1.get(refs.namespaces, 'default')).metadata.name, 'default');
    t.is(relay.connections(), 2);
    t.is(accepted()['http/1.1'] - before['http/1.1'], 1);
  },
);

test.serial('a watch left unread does not hold up the other requests of its connection', async (t) => {
  const relay = await countingRelay(t);
  const client = new KubeClient(ownAdmin('h2-unread', relay.url));
  t.teardown(() => client.close());
  const ns = await namespace(client, 'h2-unread');
  const unread = client.watch(refs.configmaps, { namespace: ns });
  const first = unread.next(); // opens the stream; nothing more is read from it
  const filler = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 12; i++) await client.create(refs.configmaps, configMap(`big-${i}`, ns, { filler }));
  const got = await client.get(refs.configmaps, 'big-11', ns);
  t.is(got.metadata.name, 'big-11');
  t.is((await first).value?.type, 'ADDED');
  t.is(relay.connections(), 1, 'the watch and the requests shared one connection');
  await unread.return(undefined);
});

test.serial(
  'a server closed (GOAWAY) and started again: new connection, watches resume without a relist',
  async (t) => {
    t.timeout(60_000);
    const relay = await countingRelay(t);
    const identity = ownAdmin('h2-restart', relay.url);
    const client = new KubeClient(identity);
    t.teardown(() => client.close());
    const ns = await namespace(client, 'h2-restart');
    const source = apiListWatch<KubeObject>(client, refs.configmaps, { namespace: ns });
    let lists = 0;
    const resumedFrom: string[] = [];
    const informer = new Informer<KubeObject>(
      {
        list: (options) => {
          lists++;
          return source.list(options);
        },
        watch: (resourceVersion, onEvent, signal, started) => {
          resumedFrom.push(resourceVersion);
          return source.watch(resourceVersion, onEvent, signal, started);
        },
      },
      { retryMs: 100 },
    );
    void informer.run();
    t.teardown(() => informer.stop());
    await client.create(refs.configmaps, configMap('before', ns));
    await waitFor('the informer to see the first object', () => informer.get(`${ns}/before`) !== undefined, 10_000);
    t.is(relay.connections(), 1);

    // a plain HTTP/2 client beside it sees the server's GOAWAY (no error) when it closes
    const raw = http2Connect(admin.server, { ca: admin.ca, cert: identity.cert!, key: identity.key! });
    raw.on('error', () => {});
    await once(raw, 'remoteSettings');
    const goaway = once(raw, 'goaway');
    await server!.close();
    t.is((await goaway)[0], constants.NGHTTP2_NO_ERROR);
    raw.destroy();
    server = await start();
    const writer = new KubeClient({ ...identity, userAgent: 'writer' });
    t.teardown(() => writer.close());
    await writer.create(refs.configmaps, configMap('after', ns));
    await waitFor(
      'the informer to see the object written after the restart',
      () => informer.get(`${ns}/after`) !== undefined,
      20_000,
    );
    t.is(lists, 1, 'resumed, not listed again');
    t.true(resumedFrom.length >= 2, `${resumedFrom}`);
    t.is(relay.connections(), 2, 'the client and its writer came back on one new connection');
  },
);

test.serial('a new client certificate is used from the next request on, over a new HTTP/2 connection', async (t) => {
  const relay = await countingRelay(t);
  const before = accepted();
  const client = new KubeClient(ownAdmin('h2-old-identity', relay.url));
  t.teardown(() => client.close());
  const review = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews', namespaced: false };
  const whoAmI = async () => {
    const answer = await client.create(review, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: {},
    } as KubeObject);
    return (answer as KubeObject & { status: { userInfo: { username: string } } }).status.userInfo.username;
  };
  t.is(await whoAmI(), 'h2-old-identity');
  const renewed = ownAdmin('h2-new-identity', relay.url);
  client.useClientCertificate(renewed.cert!, renewed.key!);
  t.is(await whoAmI(), 'h2-new-identity');
  t.is(relay.connections(), 2);
  t.is(accepted()['http/1.1'] - before['http/1.1'], 0, 'both over HTTP/2');
});

test.serial(
  'more watches than the server’s stream limit: a second connection, and requests still answered',
  async (t) => {
    const relay = await countingRelay(t);
    const client = new KubeClient(ownAdmin('h2-many-watches', relay.url));
    t.teardown(() => client.close());
    const ns = await namespace(client, 'h2-many-watches');
    const stop = new AbortController();
    t.teardown(() => stop.abort());
    // each watch holds its stream for good: 110 of them are past one connection's 100
    const opened = Array.from({ length: 110 }, async () => {
      const events = client.watch(refs.configmaps, { namespace: ns, signal: stop.signal });
      return (await events.next()).value?.type;
    });
    await client.create(refs.configmaps, configMap('seen-by-all', ns));
    t.deepEqual(await Promise.all(opened), Array(110).fill('ADDED'));
    t.is((await client.get(refs.configmaps, 'seen-by-all', ns)).metadata.name, 'seen-by-all');
    t.is(relay.connections(), 2);
  },
);

test.serial(
  'hundreds of watches opened at once: as many connections as they need, none queued past the limit, all ended by abort',
  async (t) => {
    const relay = await countingRelay(t);
    const client = new KubeClient(ownAdmin('h2-watch-crowd', relay.url));
    t.teardown(() => client.close());
    const ns = await namespace(client, 'h2-watch-crowd');
    const stop = new AbortController();
    t.teardown(() => stop.abort());
    // 500 at once: a stream asked for beyond a connection's limit would wait in it for a watch to end
    const watches = Array.from({ length: 500 }, () =>
      client.watch(refs.configmaps, { namespace: ns, signal: stop.signal }),
    );
    const first = watches.map(async (events) => (await events.next()).value?.type);
    await client.create(refs.configmaps, configMap('seen-by-the-crowd', ns));
    t.deepEqual(await Promise.all(first), Array(500).fill('ADDED'));
    t.is((await client.get(refs.configmaps, 'seen-by-the-crowd', ns)).metadata.name, 'seen-by-the-crowd');
    // five full of watches, and one for the create and the get
    t.is(relay.connections(), 6);
    stop.abort();
    const ended = Promise.all(watches.map(async (events) => (await events.next()).done));
    const deadline = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('watches still open 5 s after abort')), 5_000),
    );
    t.deepEqual(await Promise.race([ended, deadline]), Array(500).fill(true));
  },
);

test.serial(
  'watches cancelled by the hundred, round after round: every next request and watch is answered',
  async (t) => {
    const client = new KubeClient(ownAdmin('h2-cancel-rounds', admin.server));
    t.teardown(() => client.close());
    const ns = await namespace(client, 'h2-cancel-rounds');
    for (let round = 0; round < 12; round++) {
      const stop = new AbortController();
      const watches = Array.from({ length: 99 }, () =>
        client.watch(refs.configmaps, { namespace: ns, signal: stop.signal }),
      );
      const first = watches.map(async (events) => (await events.next()).value?.type);
      await client.create(refs.configmaps, configMap(`round-${round}`, ns));
      t.deepEqual(await Promise.all(first), Array(99).fill('ADDED'), `round ${round}`);
      stop.abort();
      await Promise.all(watches.map((events) => events.next()));
    }
    t.is((await client.list(refs.configmaps, { namespace: ns })).items.length, 12);
  },
);

test.serial(
  'an answer read some time after its headers arrived is read whole, not cut off as a premature close',
  async (t) => {
    const identity = ownAdmin('h2-late-reader', admin.server);
    const transport = new Http2Transport({
      server: identity.server,
      ca: identity.ca,
      cert: identity.cert,
      key: identity.key,
    });
    t.teardown(() => transport.release(true));
    // 200 GETs at once, each read 5-25 ms after its headers: by then Node has closed many of the
    // streams, whose data was still unread
    const reads = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const response = await transport.request({
          method: 'GET',
          path: '/api/v1/namespaces/default',
          headers: { accept: 'application/json' },
          body: undefined,
          timeoutMs: 10_000,
          signal: undefined,
        });
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
        const chunks: Buffer[] = [];
        for await (const chunk of response!) chunks.push(chunk);
        return (JSON.parse(Buffer.concat(chunks).toString()) as { metadata: { name: string } }).metadata.name;
      }).map((read) => read.catch((err: Error) => err.message)),
    );
    t.deepEqual(reads, Array(200).fill('default'));
  },
);
