/**
 * Protobuf over HTTPS against a real `bosun server` process, read with the server's own schema as
 * client-go reads it: get, list and watch of pods and deployments with
 * `Accept: application/vnd.kubernetes.protobuf` carry the same objects as their JSON answers; a
 * protobuf Pod with every kind of field kubectl debug sets is stored as its JSON twin would be.
 */
import test from 'ava';
import {
  adminIdentity,
  call,
  callBytes,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../server-process.ts';
import {
  decodeProtobufObject,
  decodeProtobufWatchEvents,
  encodeProtobufObject,
} from '../../../controlplane/api/protobuf/envelope.ts';

let server: ServerProcess;
let admin: Identity;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  t0Objects = await Promise.all([
    call(server, 'POST', '/api/v1/namespaces/default/pods', admin, {
      metadata: { name: 'pb-pod', labels: { app: 'pb' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            ports: [{ containerPort: 8080, name: 'http' }],
            resources: { requests: { cpu: '100m', memory: '64Mi' } },
          },
        ],
      },
    }),
    call(server, 'POST', '/apis/apps/v1/namespaces/default/deployments', admin, {
      metadata: { name: 'pb-deploy' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'pb-deploy' } },
        template: {
          metadata: { labels: { app: 'pb-deploy' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    }),
  ]);
});
test.after.always(async () => {
  await server?.destroy();
});
let t0Objects: Array<{ status: number }> = [];

const protobufAccept = { Accept: 'application/vnd.kubernetes.protobuf, */*' };

/** The protobuf answer and the JSON answer of one path, read until both saw the same resourceVersion. */
async function bothForms(
  path: string,
): Promise<{ protobuf: Record<string, unknown>; json: Record<string, unknown>; contentType: unknown }> {
  for (let attempt = 0; ; attempt++) {
    const binary = await callBytes(server, 'GET', path, admin, protobufAccept);
    const json = await call(server, 'GET', path, admin);
    const protobuf = decodeProtobufObject(binary.bytes);
    const version = (o: Record<string, unknown>) => (o.metadata as { resourceVersion?: string }).resourceVersion;
    if (version(protobuf) === version(json.body) || attempt === 5)
      return { protobuf, json: json.body, contentType: binary.headers['content-type'] };
  }
}

test('get and list of pods and deployments answer in protobuf when asked, with the same objects as JSON', async (t) => {
  t.deepEqual(
    t0Objects.map((r) => r.status),
    [201, 201],
  );
  for (const path of [
    '/api/v1/namespaces/default/pods/pb-pod',
    '/api/v1/namespaces/default/pods',
    '/apis/apps/v1/namespaces/default/deployments/pb-deploy',
    '/apis/apps/v1/deployments',
  ]) {
    const { protobuf, json, contentType } = await bothForms(path);
    t.is(contentType, 'application/vnd.kubernetes.protobuf', path);
    // protobuf list items carry no apiVersion/kind (as upstream's); JSON's zero-time nulls are absent in protobuf
    const items = (json.items as Array<Record<string, unknown>> | undefined)?.map(
      ({ apiVersion: _a, kind: _k, ...item }) => item,
    );
    const expected = JSON.parse(
      JSON.stringify({ ...json, ...(items ? { items } : {}) }, (_key, value: unknown) =>
        value === null ? undefined : value,
      ),
    );
    t.deepEqual(protobuf, expected, path);
  }
  const asJson = await call(
    server,
    'GET',
    '/api/v1/namespaces/default/pods/pb-pod',
    admin,
    undefined,
    'application/json',
    { Accept: 'application/json, application/vnd.kubernetes.protobuf' },
  );
  t.is(asJson.headers['content-type'], 'application/json', 'JSON first in Accept keeps JSON');
});

test('watches of pods and deployments stream length-framed protobuf events', async (t) => {
  for (const [path, name] of [
    ['/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1', 'pb-pod'],
    ['/apis/apps/v1/namespaces/default/deployments?watch=1&timeoutSeconds=1', 'pb-deploy'],
  ] as const) {
    const reply = await callBytes(server, 'GET', path, admin, protobufAccept);
    t.is(reply.status, 200);
    t.is(reply.headers['content-type'], 'application/vnd.kubernetes.protobuf;stream=watch');
    const events = decodeProtobufWatchEvents(reply.bytes);
    const added = events.find((e) => e.type === 'ADDED' && (e.object.metadata as { name?: string }).name === name);
    t.truthy(added, `${path}: ${JSON.stringify(events.map((e) => e.type))}`);
    const current = await call(server, 'GET', `${path.split('?')[0]}/${name}`, admin);
    t.is((added!.object.metadata as { uid?: string }).uid, current.body.metadata.uid);
  }
});

test('a protobuf Pod with host namespaces, hostPath, probes and quantities is stored exactly as its JSON twin', async (t) => {
  const spec = {
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    nodeName: 'node-x',
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 0,
    tolerations: [{ operator: 'Exists' }],
    volumes: [{ name: 'host-root', hostPath: { path: '/', type: '' } }],
    containers: [
      {
        name: 'debugger',
        image: 'busybox',
        stdin: true,
        tty: true,
        volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
        readinessProbe: { httpGet: { port: 8080, path: '/ready' }, periodSeconds: 5 },
        resources: { limits: { cpu: '1', memory: '128Mi' } },
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      },
    ],
  };
  const body = encodeProtobufObject({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pb-debug', namespace: 'default' },
    spec,
  });
  const created = await callBytes(
    server,
    'POST',
    '/api/v1/namespaces/default/pods',
    admin,
    { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/json' },
    body,
  );
  t.is(created.status, 201, created.bytes.toString());
  const twin = await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, {
    metadata: { name: 'json-debug' },
    spec,
  });
  t.is(twin.status, 201, JSON.stringify(twin.body));
  const stored = await call(server, 'GET', '/api/v1/namespaces/default/pods/pb-debug', admin);
  t.deepEqual(stored.body.spec, twin.body.spec);
});

test('a streaming list (sendInitialEvents) in protobuf ends its initial events with the annotated bookmark', async (t) => {
  const reply = await callBytes(
    server,
    'GET',
    '/api/v1/namespaces/default/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1',
    admin,
    protobufAccept,
  );
  t.is(reply.status, 200);
  const events = decodeProtobufWatchEvents(reply.bytes);
  const end = events.findIndex(
    (e) =>
      e.type === 'BOOKMARK' &&
      (e.object.metadata as { annotations?: Record<string, string> }).annotations?.['k8s.io/initial-events-end'] ===
        'true',
  );
  t.true(end > 0, JSON.stringify(events.map((e) => e.type)));
  t.true(
    events.slice(0, end).some((e) => e.type === 'ADDED' && (e.object.metadata as { name?: string }).name === 'pb-pod'),
  );
  t.regex(String((events[end]!.object.metadata as { resourceVersion?: string }).resourceVersion), /^\d+$/);
});

test("errors reach a protobuf client as a protobuf Status with upstream's code, reason and words", async (t) => {
  const reply = await callBytes(server, 'GET', '/api/v1/namespaces/default/pods/nope', admin, protobufAccept);
  t.is(reply.status, 404);
  t.is(reply.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  t.like(decodeProtobufObject(reply.bytes), {
    kind: 'Status',
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    message: 'pods "nope" not found',
    details: { name: 'nope', kind: 'pods' },
  });
});
