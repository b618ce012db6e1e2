/**
 * A CustomResourceDefinition with `conversion.strategy: Webhook` against a real HTTPS conversion
 * webhook run by the test (its own CA, trusted only through the definition's caBundle), driven by
 * every kubectl release: an object created in the storage version is read, listed and watched in
 * the other version and back, one written in the other version is stored converted; the webhook is
 * reached by URL or through a Service; a webhook that is down or answers against the protocol
 * fails the request with upstream's 500, and nothing is stored.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { installedKubectlReleases } from '../kubectl-releases.ts';
import { adminIdentity, call, type HttpReply } from '../server-process.ts';
import { waitFor } from '../ports.ts';
import { namespacedDefinition } from './fixtures.ts';
import { watchLines } from './kubectl-watch.ts';

type Any = Record<string, any>;

const bed = useKubectlBed({ controllers: false });
const group = 'convert.bosun.test';

// ---- the conversion webhook: v1 keeps spec.celsius (a number), v2 spec.target ("21C") ----

const authority = createCertificateAuthority('conversion-test-ca');
const serving = issueCertificate(authority, {
  commonName: 'converter.test',
  dnsNames: ['converter.test', 'converter.default.svc'],
  ipAddresses: ['127.0.0.1'],
  usage: 'server',
});
/** Every ConversionReview request received. */
const reviews: Any[] = [];

function converted(object: Any, desired: string): Any {
  const { spec = {}, ...rest } = object;
  if (desired.endsWith('/v2')) {
    const { celsius, ...other } = spec;
    return { ...rest, apiVersion: desired, spec: { ...other, target: `${celsius}C` } };
  }
  const { target, ...other } = spec;
  return { ...rest, apiVersion: desired, spec: { ...other, celsius: Number.parseInt(String(target), 10) } };
}

/** The answer to a review; an object labelled `misbehave` gets an answer that breaks the protocol. */
function answerTo(request: Any): Any {
  const objects = (request.objects as Any[]).map((o) => converted(o, request.desiredAPIVersion));
  const response: Any = { uid: request.uid, result: { status: 'Success' }, convertedObjects: objects };
  const first: Any = objects[0] ?? {};
  switch (request.objects[0]?.metadata?.labels?.misbehave) {
    case 'rename':
      first.metadata = { ...first.metadata, name: `${first.metadata.name}-renamed` };
      break;
    case 'uid':
      response.uid = 'someone-else';
      break;
    case 'drop':
      response.convertedObjects = [];
      break;
    case 'refuse':
      response.result = { status: 'Failure', message: 'this thermostat cannot be converted' };
      break;
    case 'version':
      first.apiVersion = `${group}/v1beta9`;
      break;
    case 'extra':
      first.spec = { ...first.spec, unknown: 'dropped by the schema' };
      break;
    case 'relabel':
      first.metadata = { ...first.metadata, labels: { ...first.metadata.labels, seen: 'converter' } };
      break;
  }
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response };
}

let hook: Server;
let hookPort = 0;
/** Where nothing listens: a conversion webhook that is down. */
let downPort = 0;

test.before(async () => {
  hook = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(body).toString());
      reviews.push(review.request);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answerTo(review.request)));
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookPort = (hook.address() as AddressInfo).port;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  downPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

test.after.always(async () => {
  hook?.closeAllConnections();
  await new Promise((resolve) => hook?.close(resolve));
});

/** A definition of `plural` (kind `kind`) served at v1 (stored) and v2, converted by the webhook at `port`. */
function definition(plural: string, kind: string, port: number, service?: Any, ca = authority.cert): Any {
  const schema = (spec: Any) => ({
    openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: spec } } },
  });
  return namespacedDefinition(group, plural, kind, {
    conversion: {
      strategy: 'Webhook',
      webhook: {
        conversionReviewVersions: ['v1'],
        clientConfig: {
          ...(service !== undefined ? { service } : { url: `https://127.0.0.1:${port}/convert` }),
          caBundle: Buffer.from(ca).toString('base64'),
        },
      },
    },
    versions: [
      { name: 'v1', served: true, storage: true, schema: schema({ celsius: { type: 'integer' } }) },
      { name: 'v2', served: true, storage: false, schema: schema({ target: { type: 'string' } }) },
    ],
  });
}

async function run(t: ExecutionContext, binary: string | undefined, ...args: string[]): Promise<string> {
  const result = await bed.kubectl(args, { ...(binary !== undefined ? { binary } : {}) });
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function establish(t: ExecutionContext, binary: string | undefined, crd: Any): Promise<void> {
  await run(t, binary, 'apply', '-f', bed.file(`${crd.metadata.name}.json`, JSON.stringify(crd)));
  await run(t, binary, 'wait', '--for', 'condition=established', '--timeout=20s', `crd/${crd.metadata.name}`);
}

const manifest = (name: string, version: 'v1' | 'v2', kind: string, spec: Any, labels?: Any) =>
  JSON.stringify({ apiVersion: `${group}/${version}`, kind, metadata: { name, ...(labels ? { labels } : {}) }, spec });

const api = (method: string, path: string, body?: unknown): Promise<HttpReply> =>
  call(
    { dataDir: bed.server.dataDir, port: bed.server.server.port },
    method,
    path,
    adminIdentity(bed.server.dataDir),
    body,
    method === 'PATCH' ? 'application/merge-patch+json' : undefined,
  );

/** What the datastore holds for an object (undefined: nothing). */
async function stored(plural: string, name: string): Promise<Any | undefined> {
  const kv = await bed.server.server.storage.get(`/registry/${group}/${plural}/default/${name}`);
  return kv === undefined ? undefined : JSON.parse(kv.value);
}

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} reads, lists, watches and writes through the conversion webhook`, async (t) => {
    const plural = `thermostats${release.replace('.', '')}`;
    const kind = `Thermostat${release.replace('.', '')}`;
    const v1 = `${plural}.v1.${group}`;
    const v2 = `${plural}.v2.${group}`;
    await establish(t, binary, definition(plural, kind, hookPort));
    await run(t, binary, 'apply', '-f', bed.file(`${plural}-hall.json`, manifest('hall', 'v1', kind, { celsius: 21 })));
    const before = reviews.length;
    const hall = JSON.parse(await run(t, binary, 'get', v2, 'hall', '-o', 'json'));
    t.is(hall.apiVersion, `${group}/v2`);
    t.deepEqual(hall.spec, { target: '21C' });
    t.true(reviews.length > before, 'the webhook was asked');
    t.like(reviews.at(-1), { desiredAPIVersion: `${group}/v2` });
    t.is(reviews.at(-1)?.objects[0]?.apiVersion, `${group}/v1`);
    t.deepEqual(JSON.parse(await run(t, binary, 'get', v1, 'hall', '-o', 'json')).spec, { celsius: 21 });

    // written at v2: stored at v1, converted by the webhook
    await run(t, binary, 'apply', '-f', bed.file(`${plural}-den.json`, manifest('den', 'v2', kind, { target: '18C' })));
    t.like(await stored(plural, 'den'), { apiVersion: `${group}/v1`, spec: { celsius: 18 } });
    t.deepEqual(JSON.parse(await run(t, binary, 'get', v1, 'den', '-o', 'json')).spec, { celsius: 18 });
    await run(t, binary, 'patch', v2, 'den', '--type=merge', '-p', '{"spec":{"target":"23C"}}');
    t.like(await stored(plural, 'den'), { apiVersion: `${group}/v1`, spec: { celsius: 23 } });

    const listed = JSON.parse(await run(t, binary, 'get', v2, '-o', 'json'));
    t.deepEqual(
      listed.items.map((i: Any) => [i.apiVersion, i.metadata.name, i.spec.target]),
      [
        [`${group}/v2`, 'den', '23C'],
        [`${group}/v2`, 'hall', '21C'],
      ],
    );
    const lines = await watchLines(
      bed.server.server.kubeconfigPath,
      binary,
      ['get', v2, '--watch', '-o', 'jsonpath={.metadata.name}={.spec.target}{"\\n"}'],
      'hall=25C',
      () => api('PATCH', `/apis/${group}/v1/namespaces/default/${plural}/hall`, { spec: { celsius: 25 } }),
    );
    t.true(lines.includes('den=23C') && lines.includes('hall=21C'), lines.join('\n'));
  });
}

test.serial(
  'a conversion webhook that is down fails reads and writes in the other version with 500; nothing is stored',
  async (t) => {
    await establish(t, undefined, definition('gauges', 'Gauge', downPort));
    await run(t, undefined, 'apply', '-f', bed.file('gauge-one.json', manifest('one', 'v1', 'Gauge', { celsius: 5 })));
    const refused = `conversion webhook for ${group}/v1, Kind=Gauge failed: Post "https://127.0.0.1:${downPort}/convert?timeout=30s": dial tcp 127.0.0.1:${downPort}: connect: connection refused`;
    const read = await bed.kubectl(['get', `gauges.v2.${group}`, 'one']);
    t.not(read.code, 0);
    t.is(read.stderr.trim(), `Error from server: ${refused}`);
    const list = await api('GET', `/apis/${group}/v2/namespaces/default/gauges`);
    t.is(list.status, 500);
    t.is(list.body.reason, undefined, 'no reason, as upstream');
    t.is(list.body.message, refused);
    const write = await bed.kubectl([
      'create',
      '-f',
      bed.file('gauge-two.json', manifest('two', 'v2', 'Gauge', { target: '7C' })),
    ]);
    t.not(write.code, 0);
    t.regex(
      write.stderr,
      /conversion webhook for convert\.bosun\.test\/v2, Kind=Gauge failed: Post .*connection refused/,
    );
    t.is(await stored('gauges', 'two'), undefined, 'nothing stored');
    const patch = await api('PATCH', `/apis/${group}/v2/namespaces/default/gauges/one`, { spec: { target: '9C' } });
    t.is(patch.status, 500);
    t.like(await stored('gauges', 'one'), { spec: { celsius: 5 } }, 'unchanged');
    // a watch in the other version ends with the error when a change cannot be converted
    const from = (await api('GET', `/apis/${group}/v1/namespaces/default/gauges`)).body.metadata.resourceVersion;
    const watch = api(
      'GET',
      `/apis/${group}/v2/namespaces/default/gauges?watch=true&resourceVersion=${from}&timeoutSeconds=10`,
    );
    await run(
      t,
      undefined,
      'apply',
      '-f',
      bed.file('gauge-three.json', manifest('three', 'v1', 'Gauge', { celsius: 6 })),
    );
    const ended = (await watch).body;
    t.is(ended.type, 'ERROR');
    t.like(ended.object, { kind: 'Status', code: 500, message: refused });
    // the storage version needs no webhook, and the server answers other clients as before
    t.deepEqual(JSON.parse(await run(t, undefined, 'get', `gauges.v1.${group}`, 'one', '-o', 'json')).spec, {
      celsius: 5,
    });
    t.is((await api('GET', '/readyz')).status, 200);
    // the server's own work on custom resources reads their storage version: with the webhook down,
    // what a deleted custom resource owned is still collected
    const gauges = `/apis/${group}/v1/namespaces/default/gauges`;
    const parent = (await api('GET', `${gauges}/one`)).body;
    const owned = JSON.parse(manifest('child', 'v1', 'Gauge', { celsius: 1 }));
    owned.metadata.ownerReferences = [
      { apiVersion: `${group}/v1`, kind: 'Gauge', name: 'one', uid: parent.metadata.uid },
    ];
    t.is((await api('POST', gauges, owned)).status, 201);
    t.is((await api('DELETE', `${gauges}/one`)).status, 200);
    await waitFor(
      'the owned gauge to be collected',
      async () => (await stored('gauges', 'child')) === undefined,
      10_000,
    );
  },
);

test.serial('answers that break the protocol fail the request in upstream words; a relabelling is kept', async (t) => {
  await establish(t, undefined, definition('dials', 'Dial', hookPort));
  const path = `/apis/${group}/v2/namespaces/default/dials`;
  const from = `conversion webhook for ${group}/v2, Kind=Dial`;
  const cases: [string, string | RegExp][] = [
    ['rename', `${from} returned invalid object: must have the same name: rename != rename-renamed`],
    [
      'uid',
      /^conversion webhook for convert\.bosun\.test\/v2, Kind=Dial failed: expected response\.uid="[0-9a-f-]+", got "someone-else"$/,
    ],
    ['drop', `${from} returned 0 objects, expected 1`],
    ['refuse', `${from} failed: this thermostat cannot be converted`],
    [
      'version',
      `${from} returned invalid object at index 0: invalid groupVersion (expected ${group}/v1, received ${group}/v1beta9)`,
    ],
  ];
  for (const [misbehave, message] of cases) {
    const reply = await api(
      'POST',
      path,
      JSON.parse(manifest(misbehave, 'v2', 'Dial', { target: '3C' }, { misbehave })),
    );
    t.is(reply.status, 500, misbehave);
    if (typeof message === 'string') t.is(reply.body.message, message);
    else t.regex(reply.body.message, message);
    t.is(await stored('dials', misbehave), undefined, `${misbehave}: nothing stored`);
  }
  const relabelled = await api(
    'POST',
    path,
    JSON.parse(manifest('relabel', 'v2', 'Dial', { target: '3C' }, { misbehave: 'relabel' })),
  );
  t.is(relabelled.status, 201);
  t.like(await stored('dials', 'relabel'), { metadata: { labels: { misbehave: 'relabel', seen: 'converter' } } });
});

test.serial('a conversion webhook behind a Service is reached at a ready endpoint, by its service name', async (t) => {
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'converter', namespace: 'default' },
      spec: { ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'converter-manual',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'converter' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'https', port: hookPort, protocol: 'TCP' }],
    },
  ];
  await run(
    t,
    undefined,
    'apply',
    '-f',
    bed.file('converter.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })),
  );
  const service = { namespace: 'default', name: 'converter', path: '/convert' };
  await establish(t, undefined, definition('valves', 'Valve', 0, service));
  const crd = JSON.parse(await run(t, undefined, 'get', 'crd', `valves.${group}`, '-o', 'json'));
  t.is(crd.spec.conversion.webhook.clientConfig.service.port, 443, "upstream's default port");
  await run(t, undefined, 'apply', '-f', bed.file('valve.json', manifest('inlet', 'v1', 'Valve', { celsius: 40 })));
  const inlet = JSON.parse(await run(t, undefined, 'get', `valves.v2.${group}`, 'inlet', '-o', 'json'));
  t.deepEqual(inlet.spec, { target: '40C' });
  // server-side apply in the other version: merged there, stored converted
  const applied = manifest('outlet', 'v2', 'Valve', { target: '45C' });
  await run(t, undefined, 'apply', '--server-side', '-f', bed.file('outlet.json', applied));
  t.like(await stored('valves', 'outlet'), { apiVersion: `${group}/v1`, spec: { celsius: 45 } });
  await run(t, undefined, 'apply', '--server-side', '-f', bed.file('outlet.json', applied.replace('45C', '47C')));
  t.like(await stored('valves', 'outlet'), { spec: { celsius: 47 } });
});

test.serial(
  'fields the webhook adds beyond the schema are pruned; a large list goes in reviews of at most 100 objects and about 4 MiB',
  async (t) => {
    await establish(t, undefined, definition('vents', 'Vent', hookPort));
    const v1 = `/apis/${group}/v1/namespaces/default/vents`;
    const created = await api(
      'POST',
      v1,
      JSON.parse(manifest('extra', 'v1', 'Vent', { celsius: 1 }, { misbehave: 'extra' })),
    );
    t.is(created.status, 201);
    t.deepEqual((await api('GET', `/apis/${group}/v2/namespaces/default/vents/extra`)).body.spec, { target: '1C' });
    for (let i = 0; i < 150; i++)
      t.is((await api('POST', v1, JSON.parse(manifest(`v${i}`, 'v1', 'Vent', { celsius: i })))).status, 201);
    const before = reviews.length;
    const listed = (await api('GET', `/apis/${group}/v2/namespaces/default/vents`)).body;
    t.is(listed.items.length, 151);
    t.true(listed.items.every((i: Any) => i.apiVersion === `${group}/v2` && /^\d+C$/.test(i.spec.target)));
    const sizes = reviews.slice(before).map((r) => r.objects.length);
    t.deepEqual(
      sizes.sort((a, b) => b - a),
      [100, 51],
    );
    // large objects: reviews of about 4 MiB at most, however few objects that is
    const note = 'x'.repeat(200 * 1024);
    const big = `/apis/${group}/v1/namespaces/other/vents`;
    t.is((await api('POST', '/api/v1/namespaces', { metadata: { name: 'other' } })).status, 201);
    for (let i = 0; i < 30; i++) {
      const vent = JSON.parse(manifest(`big${i}`, 'v1', 'Vent', { celsius: i }));
      vent.metadata.annotations = { note };
      t.is((await api('POST', big, vent)).status, 201);
    }
    const start = reviews.length;
    t.is((await api('GET', `/apis/${group}/v2/namespaces/other/vents`)).body.items.length, 30);
    const sent = reviews.slice(start);
    t.true(sent.length >= 2, `${sent.length} reviews`);
    t.true(sent.every((r) => Buffer.byteLength(JSON.stringify(r.objects)) <= 4 * 1024 * 1024 + 1024));
    t.is(
      sent.reduce((n, r) => n + r.objects.length, 0),
      30,
    );
  },
);

test.serial('a conversion webhook whose certificate the caBundle does not trust is never sent an object', async (t) => {
  const stranger = createCertificateAuthority('someone-else');
  await establish(t, undefined, definition('taps', 'Tap', hookPort, undefined, stranger.cert));
  const before = reviews.length;
  const reply = await api(
    'POST',
    `/apis/${group}/v2/namespaces/default/taps`,
    JSON.parse(manifest('hot', 'v2', 'Tap', { target: '60C' })),
  );
  t.is(reply.status, 500);
  t.is(
    reply.body.message,
    `conversion webhook for ${group}/v2, Kind=Tap failed: Post "https://127.0.0.1:${hookPort}/convert?timeout=30s": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
  );
  t.is(reviews.length, before, 'the untrusted server received nothing');
  t.is(await stored('taps', 'hot'), undefined, 'nothing stored');
});
