/**
 * The configuration objects of the API's extension points, served as upstream serves them:
 * admissionregistration.k8s.io/v1 webhook configurations and validating admission policies with
 * their bindings, apiregistration.k8s.io/v1 APIServices: stored with upstream's defaults, refused
 * with upstream's field errors, printed with upstream's columns.
 */
import test from 'ava';
import { sharedInProcess } from './in-process.ts';
import { adminCalls, adminKubectl } from './admin-calls.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installedKubectlReleases } from './kubectl-releases.ts';

const shared = sharedInProcess(test);
const { send } = adminCalls(shared);
const kubectl = adminKubectl(shared);
const admissionApi = '/apis/admissionregistration.k8s.io/v1';
const registrationApi = '/apis/apiregistration.k8s.io/v1';

const webhook = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  clientConfig: { service: { namespace: 'default', name: 'hooks' } },
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
  ...extra,
});

test('a mutating webhook configuration is stored with upstream defaults', async (t) => {
  const reply = await send('POST', `${admissionApi}/mutatingwebhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'defaults' },
    webhooks: [webhook('label.example.com')],
  });
  t.is(reply.status, 201, JSON.stringify(reply.body));
  t.like(reply.body.webhooks[0], {
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    namespaceSelector: {},
    objectSelector: {},
    timeoutSeconds: 10,
    reinvocationPolicy: 'Never',
    clientConfig: { service: { port: 443 } },
    rules: [{ scope: '*' }],
  });
  const stored = await send('GET', `${admissionApi}/mutatingwebhookconfigurations/defaults`);
  t.is(stored.status, 200);
  t.is(stored.body.webhooks[0].timeoutSeconds, 10);
});

test('a validating webhook configuration with upstream mistakes is refused field by field', async (t) => {
  const reply = await send('POST', `${admissionApi}/validatingwebhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'broken' },
    webhooks: [
      webhook('short.name', { timeoutSeconds: 31, sideEffects: 'Some' }),
      webhook('twice.example.com', { clientConfig: { url: 'http://hooks.example.com/check?x=1' } }),
      webhook('twice.example.com', { admissionReviewVersions: ['v2'] }),
    ],
  });
  t.is(reply.status, 422);
  const message: string = reply.body.message;
  t.true(message.startsWith('ValidatingWebhookConfiguration.admissionregistration.k8s.io "broken" is invalid: ['));
  for (const part of [
    'webhooks[0].name: Invalid value: "short.name": should be a domain with at least three segments separated by dots',
    'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
    'webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
    `webhooks[1].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme; desired format: https://host[/path]`,
    'webhooks[1].clientConfig.url: Invalid value: "x=1": query parameters are not permitted in the URL',
    'webhooks[2].name: Duplicate value: "twice.example.com"',
    'webhooks[2].admissionReviewVersions: Invalid value: ["v2"]: must include at least one of v1, v1beta1',
  ])
    t.true(message.includes(part), part);
  const after = await send('GET', `${admissionApi}/validatingwebhookconfigurations/broken`);
  t.is(after.status, 404, 'nothing was stored');
});

test('webhook rules refuse a wildcard beside other values and an unknown scope', async (t) => {
  const reply = await send('POST', `${admissionApi}/validatingwebhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'rules' },
    webhooks: [
      webhook('rules.example.com', {
        rules: [
          {
            operations: ['*', 'CREATE'],
            apiGroups: [],
            apiVersions: ['v1'],
            resources: ['*', 'pods'],
            scope: 'Everywhere',
          },
        ],
      }),
    ],
  });
  t.is(reply.status, 422);
  for (const part of [
    `webhooks[0].rules[0].operations: Invalid value: ["*","CREATE"]: if '*' is present, must not specify other operations`,
    'webhooks[0].rules[0].apiGroups: Required value',
    `webhooks[0].rules[0].resources: Invalid value: ["*","pods"]: if '*' is present, must not specify other resources without subresources`,
    'webhooks[0].rules[0].scope: Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"',
  ])
    t.true(reply.body.message.includes(part), `${part}\n${reply.body.message}`);
});

test('an APIService must be named <version>.<group> and may not both trust a CA and skip verification', async (t) => {
  const reply = await send('POST', `${registrationApi}/apiservices`, {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1.wrong.example.com' },
    spec: {
      group: 'metrics.example.com',
      version: 'v1beta1',
      service: { namespace: 'kube-system', name: 'metrics' },
      caBundle: Buffer.from('not really a CA').toString('base64'),
      insecureSkipTLSVerify: true,
      groupPriorityMinimum: 100,
      versionPriority: 0,
    },
  });
  t.is(reply.status, 422);
  for (const part of [
    'metadata.name: Invalid value: "v1.wrong.example.com": must be `spec.version+"."+spec.group`: "v1beta1.metrics.example.com"',
    'spec.versionPriority: Invalid value: 0: must be positive and less than 1000',
    'spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present',
  ])
    t.true(reply.body.message.includes(part), `${part}\n${reply.body.message}`);
  t.is((await send('GET', `${registrationApi}/apiservices/v1.wrong.example.com`)).status, 404);
});

test('kubectl columns: webhooks counted, policies with their parameters, APIServices with their Service', async (t) => {
  const table = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
  const policy = await send('POST', `${admissionApi}/validatingadmissionpolicies`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'few-replicas' },
    spec: {
      matchConstraints: {
        resourceRules: [
          { operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] },
        ],
      },
      validations: [{ expression: 'object.spec.replicas <= 5' }],
    },
  });
  t.is(policy.status, 201, JSON.stringify(policy.body));
  t.like(policy.body.spec, { failurePolicy: 'Fail', matchConstraints: { matchPolicy: 'Equivalent' } });
  const policies = await send('GET', `${admissionApi}/validatingadmissionpolicies`, undefined, undefined, table);
  t.deepEqual(
    policies.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Validations', 'ParamKind', 'Age'],
  );
  t.deepEqual(policies.body.rows[0].cells.slice(0, 3), ['few-replicas', 1, '<unset>']);
  const apiService = await send('POST', `${registrationApi}/apiservices`, {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1beta1.metrics.example.com' },
    spec: {
      group: 'metrics.example.com',
      version: 'v1beta1',
      service: { namespace: 'kube-system', name: 'metrics' },
      insecureSkipTLSVerify: true,
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  t.is(apiService.status, 201, JSON.stringify(apiService.body));
  t.is(apiService.body.spec.service.port, 443);
  const services = await send(
    'GET',
    `${registrationApi}/apiservices/v1beta1.metrics.example.com`,
    undefined,
    undefined,
    table,
  );
  t.deepEqual(
    services.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Service', 'Available', 'Age'],
  );
  t.is(services.body.rows[0].cells[1], 'kube-system/metrics');
});

/** A webhook configuration and a policy with its binding as an operator's chart ships them. */
const manifest = (suffix: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: issuer-guard-${suffix}
webhooks:
  - name: webhook.issuer-guard.example.io
    admissionReviewVersions: ["v1"]
    clientConfig:
      service: {name: issuer-guard-webhook, namespace: issuer-guard, path: /validate}
    failurePolicy: Fail
    sideEffects: None
    timeoutSeconds: 30
    namespaceSelector:
      matchExpressions:
        - {key: issuer-guard.example.io/disable-validation, operator: NotIn, values: ["true"]}
    rules:
      - apiGroups: ["issuer-guard.example.io"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["*/*"]
    matchConditions:
      - {name: not-leases, expression: "request.resource.resource != 'leases'"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit-${suffix}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["deployments"]}
  validations:
    - {expression: "object.spec.replicas <= 5", message: "at most 5 replicas"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replica-limit-${suffix}
spec:
  policyName: replica-limit-${suffix}
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {matchLabels: {environment: test}}
`;

for (const { release, binary } of installedKubectlReleases()) {
  test(`kubectl ${release} applies, re-applies, lists and explains the configuration objects`, async (t) => {
    const suffix = release.replace('.', '-');
    const folder = join(shared.server().dataDir, 'manifests');
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `extensions-${suffix}.yaml`);
    writeFileSync(file, manifest(suffix));
    for (const round of ['first', 'again']) {
      const applied = await kubectl(binary, 'apply', '-f', file);
      t.is(applied.code, 0, `${round}: ${applied.stderr}`);
    }
    const stored = await send('GET', `${admissionApi}/validatingwebhookconfigurations/issuer-guard-${suffix}`);
    t.like(stored.body.webhooks[0], {
      sideEffects: 'None',
      clientConfig: { service: { port: 443 } },
      timeoutSeconds: 30,
    });
    const listed = await kubectl(binary, 'get', 'validatingadmissionpolicybindings', `replica-limit-${suffix}`);
    t.is(listed.code, 0, listed.stderr);
    t.regex(listed.stdout, new RegExp(`replica-limit-${suffix}\\s+replica-limit-${suffix}\\s+<unset>`));
    const explained = await kubectl(binary, 'explain', 'validatingwebhookconfiguration.webhooks.matchConditions');
    t.is(explained.code, 0, explained.stderr);
    t.regex(explained.stdout, /MatchConditions is a list of conditions/);
  });
}
