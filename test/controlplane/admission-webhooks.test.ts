/**
 * Admission webhooks against a real HTTPS webhook server run by the test, with a CA of its own
 * that only the webhook configurations' caBundle trusts: a mutating webhook that labels what it
 * sees, a validating one that refuses names by pattern, reached by URL or through a Service whose
 * hand-written EndpointSlice points at the test's server; failurePolicy Fail and Ignore with a
 * webhook that is down or too slow; namespaceSelector; and the configuration objects themselves,
 * which no webhook ever judges.
 */
import test from 'ava';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { sharedInProcess } from './in-process.ts';
import { adminCalls, metadataAuditLog } from './admin-calls.ts';

type Any = Record<string, any>;

const auditLog = metadataAuditLog(test);
const shared = sharedInProcess(test, { audit: auditLog.audit });
const { send, sendOk } = adminCalls(shared);
const admissionApi = '/apis/admissionregistration.k8s.io/v1';

// ---- the webhook server: its own CA, a serving certificate for 127.0.0.1 and the Service name ----

const ca = createCertificateAuthority('webhook-test-ca');
const serving = issueCertificate(ca, {
  commonName: 'hooks.webhook-test.svc',
  dnsNames: ['hooks.webhook-test.svc'],
  ipAddresses: ['127.0.0.1'],
  usage: 'server',
});
const caBundle = Buffer.from(ca.cert).toString('base64');
/** Every AdmissionReview request the server received, by path. */
const received: Array<{ path: string; request: Any }> = [];

function answer(request: Any, response: Any): Any {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, ...response } };
}

const routes: Record<string, (request: Any) => Any | Promise<Any>> = {
  '/label': (request) => {
    const patch = request.object.metadata.labels
      ? [{ op: 'add', path: '/metadata/labels/webhooked', value: 'yes' }]
      : [{ op: 'add', path: '/metadata/labels', value: { webhooked: 'yes' } }];
    return answer(request, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    });
  },
  '/count': (request) => {
    const labels = request.object.metadata.labels ?? {};
    const patch = [{ op: 'add', path: '/metadata/labels/labels-seen', value: String(Object.keys(labels).length) }];
    return answer(request, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    });
  },
  '/names': (request) =>
    String(request.name ?? '').startsWith('forbidden-')
      ? answer(request, {
          allowed: false,
          status: { code: 403, reason: 'Forbidden', message: 'names starting with "forbidden-" are not allowed' },
        })
      : answer(request, {
          allowed: true,
          warnings: ['checked by the names webhook'],
          auditAnnotations: { checked: 'by-name' },
        }),
  '/protect': (request) =>
    request.operation === 'DELETE' &&
    request.object === null &&
    request.oldObject?.metadata?.labels?.protected === 'true'
      ? answer(request, {
          allowed: false,
          status: { code: 403, reason: 'Forbidden', message: 'this one is protected' },
        })
      : answer(request, { allowed: true }),
  '/huge': (request) => answer(request, { allowed: true, padding: 'x'.repeat(17 * 1024 * 1024) }),
  '/hijack': (request) => {
    const patch = [
      { op: 'replace', path: '/metadata/uid', value: '00000000-0000-0000-0000-000000000000' },
      ...(request.object.metadata.labels?.move === 'yes'
        ? [{ op: 'replace', path: '/metadata/namespace', value: 'default' }]
        : []),
    ];
    return answer(request, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    });
  },
  '/deny': (request) => answer(request, { allowed: false, status: { message: 'everything is refused here' } }),
  '/slow': async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    return answer(request, { allowed: true });
  },
};

let hooks: Server;
/** TLS connections the webhook server accepted. */
let handshakes = 0;
let hooksPort = 0;
/** A port where nothing listens: a webhook that is down. */
let downPort = 0;

test.before(async () => {
  hooks = createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const review = JSON.parse(Buffer.concat(chunks).toString());
      received.push({ path, request: review.request });
      const reply = await routes[path]?.(review.request);
      res.writeHead(reply ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(reply ?? {}));
    });
  });
  hooks.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hooksPort = (hooks.address() as AddressInfo).port;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  downPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

test.after.always(async () => {
  hooks?.closeAllConnections();
  await new Promise((resolve) => hooks?.close(resolve));
});

const rule = (resources: string[], group = '') => ({
  operations: ['CREATE', 'UPDATE'],
  apiGroups: [group],
  apiVersions: ['v1'],
  resources,
});

function webhook(name: string, path: string, extra: Any = {}): Any {
  return {
    name,
    clientConfig: { url: `https://127.0.0.1:${hooksPort}${path}`, caBundle },
    rules: [rule(['configmaps'])],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  };
}

/** Creates a webhook configuration for the length of one test. */
async function configure(
  t: { teardown(fn: () => Promise<void>): void },
  kind: 'Mutating' | 'Validating',
  name: string,
  webhooks: Any[],
): Promise<void> {
  const resource = `${admissionApi}/${kind.toLowerCase()}webhookconfigurations`;
  await sendOk('POST', resource, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks,
  });
  t.teardown(async () => {
    await send('DELETE', `${resource}/${name}`);
  });
}

async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await sendOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

const configMap = (namespaceName: string, name: string, labels?: Record<string, string>) =>
  send('POST', `/api/v1/namespaces/${namespaceName}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(labels ? { labels } : {}) },
    data: { k: 'v' },
  });

test.serial('a mutating webhook reached by URL labels what is created, seeing an AdmissionReview v1', async (t) => {
  await namespace('mutated');
  await configure(t, 'Mutating', 'labeller', [webhook('label.webhooks.example.com', '/label')]);
  const created = await configMap('mutated', 'first', { app: 'demo' });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body.metadata.labels, { app: 'demo', webhooked: 'yes' });
  const stored = await sendOk('GET', '/api/v1/namespaces/mutated/configmaps/first');
  t.is(stored.metadata.labels.webhooked, 'yes', 'the patched object is what is stored');
  const review = received.filter((r) => r.path === '/label').at(-1)!.request;
  t.like(review, {
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
    name: 'first',
    namespace: 'mutated',
    operation: 'CREATE',
    dryRun: false,
    oldObject: null,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  });
  t.like(review.object, { apiVersion: 'v1', kind: 'ConfigMap', data: { k: 'v' } });
  t.true(review.userInfo.groups.includes('system:masters'), JSON.stringify(review.userInfo));
  t.regex(review.uid, /^[0-9a-f-]{36}$/);
  // an update is reviewed with the stored object beside the new one
  const updated = await sendOk('PUT', '/api/v1/namespaces/mutated/configmaps/first', {
    ...stored,
    metadata: { ...stored.metadata, labels: { app: 'demo' } },
  });
  t.is(updated.metadata.labels.webhooked, 'yes');
  const update = received.filter((r) => r.path === '/label').at(-1)!.request;
  t.is(update.operation, 'UPDATE');
  t.is(update.oldObject.metadata.labels.webhooked, 'yes');
});

test.serial('a validating webhook behind a Service refuses names by pattern and warns the others', async (t) => {
  await namespace('webhook-test');
  await sendOk('POST', '/api/v1/namespaces/webhook-test/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'hooks' },
    spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
  });
  await sendOk('POST', '/apis/discovery.k8s.io/v1/namespaces/webhook-test/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'hooks-manual', labels: { 'kubernetes.io/service-name': 'hooks' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'https', port: hooksPort, protocol: 'TCP' }],
  });
  await configure(t, 'Validating', 'names', [
    webhook('names.webhooks.example.com', '/names', {
      clientConfig: { service: { namespace: 'webhook-test', name: 'hooks', path: '/names' }, caBundle },
    }),
  ]);
  const refused = await configMap('webhook-test', 'forbidden-one');
  t.is(refused.status, 403, JSON.stringify(refused.body));
  t.like(refused.body, {
    kind: 'Status',
    reason: 'Forbidden',
    message:
      'admission webhook "names.webhooks.example.com" denied the request: names starting with "forbidden-" are not allowed',
  });
  t.is((await send('GET', '/api/v1/namespaces/webhook-test/configmaps/forbidden-one')).status, 404, 'nothing stored');
  const allowed = await configMap('webhook-test', 'fine');
  t.is(allowed.status, 201, JSON.stringify(allowed.body));
  t.is(allowed.headers.warning, '299 - "checked by the names webhook"');
});

test.serial('failurePolicy Fail refuses while the webhook is down, Ignore lets the write through', async (t) => {
  await namespace('down');
  const down = (name: string, failurePolicy: string) =>
    webhook(name, '/x', { clientConfig: { url: `https://127.0.0.1:${downPort}/x`, caBundle }, failurePolicy });
  await configure(t, 'Validating', 'down-fail', [down('down.webhooks.example.com', 'Fail')]);
  const refused = await configMap('down', 'refused');
  t.is(refused.status, 500, JSON.stringify(refused.body));
  t.like(refused.body, {
    reason: 'InternalError',
    message: `Internal error occurred: failed calling webhook "down.webhooks.example.com": failed to call webhook: Post "https://127.0.0.1:${downPort}/x?timeout=10s": dial tcp 127.0.0.1:${downPort}: connect: connection refused`,
  });
  t.is((await send('GET', '/api/v1/namespaces/down/configmaps/refused')).status, 404);
  await sendOk('DELETE', `${admissionApi}/validatingwebhookconfigurations/down-fail`);
  await configure(t, 'Validating', 'down-ignore', [down('ignored.webhooks.example.com', 'Ignore')]);
  t.is((await configMap('down', 'through')).status, 201);
  t.is((await send('GET', '/api/v1/namespaces')).status, 200, 'the server still answers');
});

test.serial('a webhook slower than its timeoutSeconds fails the call', async (t) => {
  await namespace('slow');
  await configure(t, 'Validating', 'slow', [
    webhook('slow.webhooks.example.com', '/slow', { timeoutSeconds: 1, failurePolicy: 'Fail' }),
  ]);
  const started = Date.now();
  const refused = await configMap('slow', 'late');
  t.true(Date.now() - started < 2400, 'answered at the timeout, not when the webhook answered');
  t.is(refused.status, 500);
  t.is(
    refused.body.message,
    `Internal error occurred: failed calling webhook "slow.webhooks.example.com": failed to call webhook: Post "https://127.0.0.1:${hooksPort}/slow?timeout=1s": context deadline exceeded`,
  );
  t.is((await send('GET', '/api/v1/namespaces/slow/configmaps/late')).status, 404);
});

test.serial('namespaceSelector: only namespaces with the label are judged', async (t) => {
  await namespace('guarded', { guarded: 'true' });
  await namespace('open');
  await configure(t, 'Validating', 'guard', [
    webhook('guard.webhooks.example.com', '/deny', { namespaceSelector: { matchLabels: { guarded: 'true' } } }),
  ]);
  const refused = await configMap('guarded', 'x');
  t.is(refused.status, 400);
  t.is(
    refused.body.message,
    'admission webhook "guard.webhooks.example.com" denied the request: everything is refused here',
  );
  t.is((await configMap('open', 'x')).status, 201);
});

test.serial('webhook configurations are never sent to webhooks, so a broken one can be removed', async (t) => {
  await configure(t, 'Validating', 'deny-registrations', [
    webhook('registrations.webhooks.example.com', '/deny', {
      rules: [rule(['*'], 'admissionregistration.k8s.io')],
    }),
  ]);
  const before = received.length;
  await configure(t, 'Mutating', 'another', [webhook('another.webhooks.example.com', '/label')]);
  await sendOk('DELETE', `${admissionApi}/mutatingwebhookconfigurations/another`);
  t.is(received.length, before, 'no webhook was called');
});

test.serial('reinvocationPolicy IfNeeded: a webhook is called again when a later one changed the object', async (t) => {
  await namespace('reinvoked');
  await configure(t, 'Mutating', 'reinvoke', [
    webhook('count.webhooks.example.com', '/count', { reinvocationPolicy: 'IfNeeded' }),
    webhook('label.webhooks.example.com', '/label'),
  ]);
  const before = received.filter((r) => r.path === '/count').length;
  const created = await configMap('reinvoked', 'twice', { app: 'demo' });
  t.is(created.status, 201, JSON.stringify(created.body));
  // first call: app; second call: app, labels-seen and webhooked
  t.deepEqual(created.body.metadata.labels, { app: 'demo', 'labels-seen': '3', webhooked: 'yes' });
  t.is(received.filter((r) => r.path === '/count').length - before, 2);
});

test.serial('matchConditions: the webhook is called only when its CEL conditions hold', async (t) => {
  await namespace('conditional');
  await configure(t, 'Validating', 'conditional', [
    webhook('conditional.webhooks.example.com', '/deny', {
      matchConditions: [
        { name: 'checked-names', expression: "object.metadata.name.startsWith('check-')" },
        { name: 'not-the-admin', expression: "request.userInfo.username != 'nobody'" },
      ],
    }),
  ]);
  const before = received.length;
  t.is((await configMap('conditional', 'unchecked')).status, 201);
  t.is(received.length, before, 'a false condition skips the call');
  const refused = await configMap('conditional', 'check-me');
  t.is(refused.status, 400);
  t.is(
    refused.body.message,
    'admission webhook "conditional.webhooks.example.com" denied the request: everything is refused here',
  );
  const invalid = await send('POST', `${admissionApi}/validatingwebhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'broken-condition' },
    webhooks: [
      webhook('broken.webhooks.example.com', '/deny', { matchConditions: [{ name: 'x', expression: 'object.' }] }),
    ],
  });
  t.is(invalid.status, 422);
  t.regex(
    invalid.body.message,
    /webhooks\[0\]\.matchConditions\[0\]\.expression: Invalid value: "object\.": compilation failed: /,
  );
});

test.serial('a validating webhook judges deletes, seeing the stored object as oldObject', async (t) => {
  await namespace('protected');
  await configure(t, 'Validating', 'protect', [
    webhook('protect.webhooks.example.com', '/protect', {
      rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
    }),
  ]);
  t.is((await configMap('protected', 'kept', { protected: 'true' })).status, 201);
  t.is((await configMap('protected', 'free')).status, 201);
  const refused = await send('DELETE', '/api/v1/namespaces/protected/configmaps/kept');
  t.is(refused.status, 403, JSON.stringify(refused.body));
  t.is(
    refused.body.message,
    'admission webhook "protect.webhooks.example.com" denied the request: this one is protected',
  );
  t.is((await send('GET', '/api/v1/namespaces/protected/configmaps/kept')).status, 200, 'still there');
  const review = received.filter((r) => r.path === '/protect').at(-1)!.request;
  t.like(review, { operation: 'DELETE', name: 'kept', object: null, options: { kind: 'DeleteOptions' } });
  t.is((await send('DELETE', '/api/v1/namespaces/protected/configmaps/free')).status, 200);
  t.is((await send('GET', '/api/v1/namespaces/protected/configmaps/free')).status, 404);
});

test.serial("webhooks' audit annotations, mutations and failures open reach the audit log", async (t) => {
  await namespace('audited');
  await configure(t, 'Mutating', 'audited-label', [webhook('label.webhooks.example.com', '/label')]);
  await configure(t, 'Validating', 'audited-names', [
    webhook('names.webhooks.example.com', '/names'),
    webhook('gone.webhooks.example.com', '/x', {
      clientConfig: { url: `https://127.0.0.1:${downPort}/x`, caBundle },
      failurePolicy: 'Ignore',
    }),
  ]);
  const created = await configMap('audited', 'noted');
  t.is(created.status, 201, JSON.stringify(created.body));
  const [event] = await auditLog.events(String(created.headers['audit-id']));
  t.like(event?.annotations, {
    'names.webhooks.example.com/checked': 'by-name',
    'failed-open.validating.webhook.admission.k8s.io/round_0_index_1': 'gone.webhooks.example.com',
    'mutation.webhook.admission.k8s.io/round_0_index_0': JSON.stringify({
      configuration: 'audited-label',
      webhook: 'label.webhooks.example.com',
      mutated: true,
    }),
  });
});

test.serial('an answer larger than 16 MiB fails the call instead of filling the server', async (t) => {
  await namespace('flooded');
  await configure(t, 'Validating', 'huge', [webhook('huge.webhooks.example.com', '/huge')]);
  const refused = await configMap('flooded', 'x');
  t.is(refused.status, 500);
  t.is(
    refused.body.message,
    'Internal error occurred: failed calling webhook "huge.webhooks.example.com": received invalid webhook response: the answer is larger than 16777216 bytes',
  );
  t.is((await send('GET', '/api/v1/namespaces/flooded/configmaps/x')).status, 404);
});

test.serial('a rule on services/status judges status writes and leaves the main resource alone', async (t) => {
  await namespace('statuses');
  await configure(t, 'Validating', 'status-guard', [
    webhook('status.webhooks.example.com', '/deny', {
      rules: [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['services/status'] }],
    }),
  ]);
  const created = await sendOk('POST', '/api/v1/namespaces/statuses/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { ports: [{ port: 80 }] },
  });
  const refused = await send('PUT', '/api/v1/namespaces/statuses/services/web/status', {
    ...created,
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } },
  });
  t.is(refused.status, 400, JSON.stringify(refused.body));
  t.is(
    refused.body.message,
    'admission webhook "status.webhooks.example.com" denied the request: everything is refused here',
  );
  const stored = await sendOk('GET', '/api/v1/namespaces/statuses/services/web');
  t.deepEqual(stored.status?.loadBalancer?.ingress ?? [], [], 'the status was not written');
  const relabelled = await send('PUT', '/api/v1/namespaces/statuses/services/web', {
    ...stored,
    metadata: { ...stored.metadata, labels: { tier: 'front' } },
  });
  t.is(relabelled.status, 200, 'the main resource is not under the rule');
});

test.serial('a mutating webhook may not move an object to another namespace nor set its uid', async (t) => {
  await namespace('hijacked');
  await configure(t, 'Mutating', 'hijack', [webhook('hijack.webhooks.example.com', '/hijack')]);
  const moved = await configMap('hijacked', 'moved', { move: 'yes' });
  t.is(moved.status, 400, JSON.stringify(moved.body));
  t.is(moved.body.message, 'the namespace of the provided object does not match the namespace sent on the request');
  t.is(
    (await send('GET', '/api/v1/namespaces/default/configmaps/moved')).status,
    404,
    'nothing in the other namespace',
  );
  t.is((await send('GET', '/api/v1/namespaces/hijacked/configmaps/moved')).status, 404);
  const kept = await configMap('hijacked', 'kept');
  t.is(kept.status, 201, JSON.stringify(kept.body));
  t.not(kept.body.metadata.uid, '00000000-0000-0000-0000-000000000000', "the uid is the server's");
  t.is((await sendOk('GET', '/api/v1/namespaces/hijacked/configmaps/kept')).metadata.uid, kept.body.metadata.uid);
});

test.serial('a dry run is sent with dryRun true, and nothing is stored', async (t) => {
  await namespace('dry');
  await configure(t, 'Mutating', 'dry-label', [webhook('label.webhooks.example.com', '/label')]);
  const reply = await send('POST', '/api/v1/namespaces/dry/configmaps?dryRun=All', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'rehearsal' },
  });
  t.is(reply.status, 201, JSON.stringify(reply.body));
  t.is(reply.body.metadata.labels?.webhooked, 'yes', 'the answer shows what the webhook would do');
  t.true(received.filter((r) => r.path === '/label').at(-1)!.request.dryRun);
  t.is((await send('GET', '/api/v1/namespaces/dry/configmaps/rehearsal')).status, 404);
});

test.serial('calls to a webhook reuse their TLS connection', async (t) => {
  await namespace('reused');
  await configure(t, 'Validating', 'reused', [webhook('names.webhooks.example.com', '/names')]);
  const before = handshakes;
  for (let i = 0; i < 5; i++) t.is((await configMap('reused', `c${i}`)).status, 201);
  t.true(handshakes - before <= 1, `${handshakes - before} handshakes for 5 calls`);
});
