/**
 * Fuzz: a few thousand mutated objects (wrong types, missing or renamed fields, bad names, broken
 * JSON, huge values) thrown at the server through create, replace and patch. Every answer must be
 * 2xx or a 4xx Status that says what is wrong (never 5xx, never a dropped connection), nothing
 * refused may be stored, everything stored must read back, and the server must still be alive.
 * Deterministic: the seed is printed and can be set with BOSUN_FUZZ_SEED.
 */
import test from 'ava';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../server-process.ts';

const attempts = 3000;
const concurrency = 16;
const timeLimitMs = 90_000;

let server: ServerProcess | undefined;
let protobufServer: ServerProcess | undefined;
test.after.always(async () => {
  await server?.destroy();
  await protobufServer?.destroy();
});

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const seeds: { path: string; object: Record<string, any> }[] = [
  {
    path: '/api/v1/namespaces/fuzz/pods',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { labels: { a: 'b' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'img:1',
            ports: [{ containerPort: 80 }],
            env: [{ name: 'A', value: '1' }],
            livenessProbe: { httpGet: { port: 80 } },
          },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  },
  {
    path: '/api/v1/namespaces/fuzz/services',
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {},
      spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
  },
  {
    path: '/apis/apps/v1/namespaces/fuzz/deployments',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {},
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } },
      },
    },
  },
  {
    path: '/api/v1/namespaces/fuzz/configmaps',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { annotations: { x: 'y' } }, data: { k: 'v' } },
  },
  {
    path: '/apis/coordination.k8s.io/v1/namespaces/fuzz/leases',
    object: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {},
      spec: { holderIdentity: 'h', leaseDurationSeconds: 40 },
    },
  },
  {
    path: '/api/v1/nodes',
    object: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {},
      spec: { podCIDR: '10.244.1.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }] },
    },
  },
];

const weird = (r: () => number): unknown => {
  const choices: (() => unknown)[] = [
    () => null,
    () => Math.floor(r() * 2 ** 40) - 2 ** 39,
    () => r() * 1e6,
    () => 'x'.repeat(Math.floor(r() * 400)),
    () => '\u0000\u{1F600}\uFFFF',
    () => true,
    () => [],
    () => [1, 'a', null, {}],
    () => ({}),
    () => ({ nested: { deeper: [{ x: 1 }] } }),
    () => 'UPPER_case.name!',
    () => -1,
  ];
  return choices[Math.floor(r() * choices.length)]!();
};

/** Paths of every value inside an object, to pick one to mutate. */
function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(object: Record<string, any>, r: () => number): Record<string, any> {
  const copy = structuredClone(object);
  const rounds = 1 + Math.floor(r() * 3);
  for (let i = 0; i < rounds; i++) {
    const all = paths(copy).filter((p) => p.length > 0);
    // an earlier round may have deleted every field: nothing left to mutate
    if (all.length === 0) break;
    const path = all[Math.floor(r() * all.length)]!;
    let parent: any = copy;
    for (const key of path.slice(0, -1)) parent = parent?.[key];
    if (typeof parent !== 'object' || parent === null) continue;
    const last = path.at(-1)!;
    const action = r();
    if (action < 0.4) parent[last] = weird(r);
    else if (action < 0.6) delete parent[last];
    else if (action < 0.8 && !Array.isArray(parent)) parent[`${String(last)}X`] = parent[last];
    else parent[last] = structuredClone(parent[last] ?? null);
  }
  return copy;
}

test('fuzz: mutated objects never crash the server nor half-store anything', async (t) => {
  t.timeout(timeLimitMs + 60_000);
  server = await startServerProcess({ datastore: 'sqlite' });
  const admin = adminIdentity(server.dataDir);
  t.is((await call(server, 'POST', '/api/v1/namespaces', admin, { metadata: { name: 'fuzz' } })).status, 201);
  const seed = Number(process.env.BOSUN_FUZZ_SEED ?? Date.now() % 1_000_000);
  t.log(`seed ${seed}`);
  const r = prng(seed);
  const failures: string[] = [];
  const refusedNames: { path: string; name: string }[] = [];
  const stored: { path: string; name: string }[] = [];
  const deadline = Date.now() + timeLimitMs;
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < attempts && Date.now() < deadline) {
      const i = next++;
      const base = seeds[Math.floor(r() * seeds.length)]!;
      const name = `fuzz-${i}`;
      const object = mutate({ ...base.object, metadata: { ...base.object.metadata, name } }, r);
      const mode = r();
      let method = 'POST';
      let path = base.path;
      let body: unknown = object;
      let contentType = 'application/json';
      if (mode < 0.1)
        body = JSON.stringify(object).slice(0, Math.floor(r() * 200)); // broken JSON
      else if (mode < 0.2) {
        method = 'PATCH';
        path = `${base.path}/fuzz-target?fieldManager=fuzz`;
        contentType = [
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
          'application/json-patch+json',
          'application/apply-patch+yaml',
        ][Math.floor(r() * 4)]!;
        body =
          contentType === 'application/json-patch+json'
            ? [
                {
                  op: ['add', 'remove', 'replace', 'move', 'bogus'][Math.floor(r() * 5)],
                  path: `/${String(paths(object).at(-1)?.join('/') ?? '')}`,
                  value: weird(r),
                },
              ]
            : mutate(object, r);
      } else if (mode < 0.3) {
        method = 'PUT';
        path = `${base.path}/${name}`;
      }
      let reply;
      try {
        reply = await call(server!, method, path, admin, body, contentType);
      } catch (err) {
        failures.push(`${method} ${path}: connection failed: ${(err as Error).message}`);
        continue;
      }
      sent++;
      const { status } = reply;
      if (status >= 500)
        failures.push(
          `${method} ${path} -> ${status}: ${JSON.stringify(reply.body).slice(0, 300)} for ${JSON.stringify(body).slice(0, 300)}`,
        );
      else if (status >= 400 && reply.body?.kind !== 'Status')
        failures.push(`${method} ${path} -> ${status} without a Status body`);
      const storedName = typeof (body as any)?.metadata?.name === 'string' ? (body as any).metadata.name : undefined;
      if (method === 'POST' && storedName === name) {
        if (status === 201) stored.push({ path: base.path, name });
        else if (status >= 400) refusedNames.push({ path: base.path, name });
      }
    }
  };
  // A target for patches.
  await call(server, 'POST', '/api/v1/namespaces/fuzz/configmaps', admin, {
    metadata: { name: 'fuzz-target' },
    data: { k: 'v' },
  });
  await Promise.all(Array.from({ length: concurrency }, worker));
  t.true(sent >= 1000, `only ${sent} requests were answered`);
  t.deepEqual(failures.slice(0, 10), [], `${failures.length} bad answers`);
  t.is((await call(server, 'GET', '/livez')).status, 200);
  for (const { path, name } of refusedNames.slice(0, 300)) {
    const got = await call(server, 'GET', `${path}/${name}`, admin);
    t.is(got.status, 404, `${path}/${name} was refused but is stored`);
  }
  for (const { path, name } of stored.slice(0, 300)) {
    const got = await call(server, 'GET', `${path}/${name}`, admin);
    t.is(got.status, 200, `${path}/${name} was accepted but does not read back`);
  }
  t.log(`${sent} requests; ${stored.length} accepted creates, ${refusedNames.length} refused`);
});

test('fuzz: mutated protobuf bodies get 400/415 with a Status, never a 5xx', async (t) => {
  const target = await startServerProcess({ datastore: 'sqlite' });
  protobufServer = target;
  const admin = adminIdentity(target.dataDir);
  const seed = Number(process.env.BOSUN_FUZZ_SEED ?? Date.now() % 1_000_000);
  const r = prng(seed + 1);
  // A valid envelope for a ConfigMap: typeMeta {apiVersion v1, kind ConfigMap}, raw {metadata {name}, data {k: v}}.
  const field = (number: number, bytes: Buffer) =>
    Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
  const typeMeta = Buffer.concat([field(1, Buffer.from('v1')), field(2, Buffer.from('ConfigMap'))]);
  const raw = Buffer.concat([
    field(1, field(1, Buffer.from('pb'))),
    field(2, Buffer.concat([field(1, Buffer.from('k')), field(2, Buffer.from('v'))])),
  ]);
  const valid = Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, typeMeta), field(2, raw)]);
  const failures: string[] = [];
  for (let i = 0; i < 400; i++) {
    const body = Buffer.from(valid);
    const flips = 1 + Math.floor(r() * 4);
    for (let f = 0; f < flips; f++) body[4 + Math.floor(r() * (body.length - 4))] = Math.floor(r() * 256);
    const cut = r() < 0.2 ? body.subarray(0, 4 + Math.floor(r() * (body.length - 4))) : body;
    const reply = await call(
      target,
      'POST',
      '/api/v1/namespaces/default/configmaps',
      admin,
      cut.toString('latin1'),
      'application/vnd.kubernetes.protobuf',
    );
    if (reply.status >= 500 || (reply.status >= 400 && reply.body?.kind !== 'Status'))
      failures.push(`${reply.status} for ${cut.toString('hex')}: ${JSON.stringify(reply.body).slice(0, 200)}`);
  }
  t.deepEqual(failures.slice(0, 5), [], `${failures.length} bad answers (seed ${seed})`);
  t.is((await call(target, 'GET', '/livez')).status, 200);
});
