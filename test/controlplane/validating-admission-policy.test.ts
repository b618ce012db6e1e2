/**
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in 1.30) with its bindings: CEL
 * validations over the object, the request and a namespace, acted on as each binding says (Deny,
 * Warn, Audit), with upstream's wording; and policies whose CEL does not compile are refused.
 */
import test from 'ava';
import type { HttpReply } from './server-process.ts';
import { sharedInProcess } from './in-process.ts';
import { adminCalls, metadataAuditLog } from './admin-calls.ts';

type Any = Record<string, any>;

const auditLog = metadataAuditLog(test);
const shared = sharedInProcess(test, { audit: auditLog.audit });
const { send, sendOk } = adminCalls(shared);
const admissionApi = '/apis/admissionregistration.k8s.io/v1';

/** Creates objects for the length of one test (deleted in reverse order after it). */
async function create(t: { teardown(fn: () => Promise<void>): void }, path: string, object: Any): Promise<void> {
  await sendOk('POST', path, object);
  t.teardown(async () => {
    await send('DELETE', `${path}/${object.metadata.name}`);
  });
}

const policy = (name: string, spec: Any): Any => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name },
  spec: {
    matchConstraints: {
      resourceRules: [
        { operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] },
      ],
    },
    ...spec,
  },
});

const binding = (name: string, policyName: string, validationActions: string[], extra: Any = {}): Any => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name },
  spec: { policyName, validationActions, ...extra },
});

function deployment(namespace: string, name: string, replicas: number): Promise<HttpReply> {
  return send('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] } },
    },
  });
}

test.serial('a policy bound with Deny refuses deployments with more than 5 replicas', async (t) => {
  await sendOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'limited' } });
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicies`,
    policy('replica-limit', {
      validations: [{ expression: 'object.spec.replicas <= 5' }],
    }),
  );
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('replica-limit-binding', 'replica-limit', ['Deny']),
  );
  const refused = await deployment('limited', 'too-many', 6);
  t.is(refused.status, 422, JSON.stringify(refused.body));
  t.like(refused.body, {
    reason: 'Invalid',
    message:
      "deployments.apps \"too-many\" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding' denied request: failed expression: object.spec.replicas <= 5",
  });
  t.is((await send('GET', '/apis/apps/v1/namespaces/limited/deployments/too-many')).status, 404, 'nothing stored');
  t.is((await deployment('limited', 'few', 5)).status, 201);
  // an update to 6 is refused too, and leaves the stored object as it was
  const stored = await sendOk('GET', '/apis/apps/v1/namespaces/limited/deployments/few');
  const update = await send('PUT', '/apis/apps/v1/namespaces/limited/deployments/few', {
    ...stored,
    spec: { ...stored.spec, replicas: 6 },
  });
  t.is(update.status, 422);
  t.is((await sendOk('GET', '/apis/apps/v1/namespaces/limited/deployments/few')).spec.replicas, 5);
});

test.serial('messages, reasons and Warn: what the binding says the client gets', async (t) => {
  await sendOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'warned', labels: { tier: 'small' } },
  });
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicies`,
    policy('small-tier', {
      validations: [
        {
          expression: "namespaceObject.metadata.labels['tier'] != 'small' || object.spec.replicas <= 2",
          messageExpression: "'small namespaces run at most 2 replicas, not ' + string(object.spec.replicas)",
          reason: 'Forbidden',
        },
      ],
    }),
  );
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('small-tier-warn', 'small-tier', ['Warn', 'Audit']),
  );
  const warned = await deployment('warned', 'three', 3);
  t.is(warned.status, 201, JSON.stringify(warned.body));
  t.is(
    warned.headers.warning,
    `299 - "Validation failed for ValidatingAdmissionPolicy 'small-tier' with binding 'small-tier-warn': small namespaces run at most 2 replicas, not 3"`,
  );
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('small-tier-deny', 'small-tier', ['Deny'], {
      matchResources: { namespaceSelector: { matchLabels: { tier: 'small' } } },
    }),
  );
  const refused = await deployment('warned', 'four', 4);
  t.is(refused.status, 403);
  t.is(
    refused.body.message,
    "deployments.apps \"four\" is forbidden: ValidatingAdmissionPolicy 'small-tier' with binding 'small-tier-deny' denied request: small namespaces run at most 2 replicas, not 4",
  );
});

test('a policy whose expression does not compile is refused, and nothing is stored', async (t) => {
  const reply = await send(
    'POST',
    `${admissionApi}/validatingadmissionpolicies`,
    policy('broken', {
      validations: [{ expression: 'object.spec.replicas <=' }],
    }),
  );
  t.is(reply.status, 422);
  t.regex(
    reply.body.message,
    /^ValidatingAdmissionPolicy\.admissionregistration\.k8s\.io "broken" is invalid: spec\.validations\[0\]\.expression: Invalid value: "object\.spec\.replicas <=": compilation failed: /,
  );
  t.is((await send('GET', `${admissionApi}/validatingadmissionpolicies/broken`)).status, 404);
});

test('a binding may not both Deny and Warn', async (t) => {
  const reply = await send(
    'POST',
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('both', 'x', ['Deny', 'Warn']),
  );
  t.is(reply.status, 422);
  t.true(
    reply.body.message.includes(
      'spec.validationActions: Invalid value: ["Deny","Warn"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
    ),
    reply.body.message,
  );
});

test.serial('a policy on DELETE sees the stored object as oldObject and object as null', async (t) => {
  await sendOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keeping' } });
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicies`,
    policy('keep', {
      matchConstraints: {
        resourceRules: [
          { operations: ['DELETE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] },
        ],
      },
      validations: [{ expression: "object == null && oldObject.metadata.name != 'keep-me'", message: 'keep-me stays' }],
    }),
  );
  await create(t, `${admissionApi}/validatingadmissionpolicybindings`, binding('keep-binding', 'keep', ['Deny']));
  t.is((await deployment('keeping', 'keep-me', 1)).status, 201);
  t.is((await deployment('keeping', 'let-go', 1)).status, 201);
  const refused = await send('DELETE', '/apis/apps/v1/namespaces/keeping/deployments/keep-me');
  t.is(refused.status, 422);
  t.is(
    refused.body.message,
    "deployments.apps \"keep-me\" is forbidden: ValidatingAdmissionPolicy 'keep' with binding 'keep-binding' denied request: keep-me stays",
  );
  t.is((await send('GET', '/apis/apps/v1/namespaces/keeping/deployments/keep-me')).status, 200);
  t.is((await send('DELETE', '/apis/apps/v1/namespaces/keeping/deployments/let-go')).status, 200);
});

test.serial('audit annotations and Audit-action failures of a policy reach the audit log', async (t) => {
  await sendOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched' } });
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicies`,
    policy('replica-audit', {
      validations: [{ expression: 'object.spec.replicas <= 1', message: 'more than one replica' }],
      auditAnnotations: [
        { key: 'replicas', valueExpression: "'replicas: ' + string(object.spec.replicas)" },
        { key: 'never', valueExpression: 'null' },
      ],
    }),
  );
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('replica-audit', 'replica-audit', ['Audit']),
  );
  const created = await deployment('watched', 'two', 2);
  t.is(created.status, 201, 'Audit alone lets the write through');
  const [event] = await auditLog.events(String(created.headers['audit-id']));
  t.is(event?.annotations?.['replica-audit/replicas'], 'replicas: 2');
  t.false('replica-audit/never' in (event?.annotations ?? {}), 'a null value is no annotation');
  t.deepEqual(JSON.parse(event?.annotations?.['validation.policy.admission.k8s.io/validation_failure'] ?? '[]'), [
    {
      message: 'more than one replica',
      policy: 'replica-audit',
      binding: 'replica-audit',
      expressionIndex: 0,
      validationActions: ['Audit'],
    },
  ]);
});

test.serial('parameters chosen by selector: the limit lives in ConfigMaps the binding selects', async (t) => {
  await sendOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tuned' } });
  await sendOk('POST', '/api/v1/namespaces/tuned/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'limit', labels: { 'policy.example.com/limit': 'replicas' } },
    data: { maxReplicas: '3' },
  });
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicies`,
    policy('tuned-limit', {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      validations: [
        {
          expression: 'object.spec.replicas <= int(params.data.maxReplicas)',
          messageExpression: "'at most ' + params.data.maxReplicas + ' replicas here'",
        },
      ],
    }),
  );
  await create(
    t,
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('tuned-limit', 'tuned-limit', ['Deny'], {
      paramRef: {
        selector: { matchLabels: { 'policy.example.com/limit': 'replicas' } },
        parameterNotFoundAction: 'Deny',
      },
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'tuned' } } },
    }),
  );
  t.is((await deployment('tuned', 'three', 3)).status, 201);
  const refused = await deployment('tuned', 'four', 4);
  t.is(refused.status, 422);
  t.true(refused.body.message.endsWith('denied request: at most 3 replicas here'), refused.body.message);
  const invalid = await send(
    'POST',
    `${admissionApi}/validatingadmissionpolicybindings`,
    binding('both-ways', 'tuned-limit', ['Deny'], { paramRef: { name: 'limit', selector: {} } }),
  );
  t.is(invalid.status, 422);
  for (const part of [
    'spec.paramRef.name: Forbidden: name and selector are mutually exclusive',
    'spec.paramRef.parameterNotFoundAction: Required value',
  ])
    t.true(invalid.body.message.includes(part), `${part}\n${invalid.body.message}`);
});
