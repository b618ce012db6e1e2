import test from 'ava';
import { mountServiceAccountToken, serviceAccountMountPath } from '../../../controlplane/admission/service-account.ts';
import { planRootCaConfigMap } from '../../../controlplane/controllers/root-ca-publisher.ts';
import { NodeAuthorizer } from '../../../controlplane/auth/node-authorizer.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { generateKeyPairSync } from 'node:crypto';
import { tokenRequestHandler } from '../../../controlplane/auth/token-request.ts';
import { ServiceAccountTokens } from '../../../controlplane/auth/service-account-tokens.ts';

type Any = Record<string, any>;
const account = (extra: Any = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default', namespace: 'ns' },
    ...extra,
  }) as KubeObject;
const newPod = (spec: Any = {}): Any => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    serviceAccountName: 'default',
    initContainers: [{ name: 'init' }],
    containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'own', mountPath: serviceAccountMountPath }] }],
    volumes: [{ name: 'own', emptyDir: {} }],
    ...spec,
  },
});

test('the token volume goes to containers without a mount there; automount false on pod or account wins', (t) => {
  const pod = newPod();
  mountServiceAccountToken(pod, account(), () => 0);
  const volume = pod.spec.volumes.find((v: Any) => v.name.startsWith('kube-api-access-'));
  t.is(volume.name, 'kube-api-access-bbbbb');
  t.deepEqual(
    volume.projected.sources.map((s: Any) => Object.keys(s)[0]),
    ['serviceAccountToken', 'configMap', 'downwardAPI'],
  );
  t.is(volume.projected.sources[0].serviceAccountToken.expirationSeconds, 3607);
  t.is(volume.projected.defaultMode, 0o644);
  t.deepEqual(pod.spec.initContainers[0].volumeMounts, [
    { name: volume.name, readOnly: true, mountPath: serviceAccountMountPath },
  ]);
  t.is(pod.spec.containers[0].volumeMounts[0].name, volume.name);
  t.is(pod.spec.containers[1].volumeMounts.length, 1, 'a container with its own mount there keeps it');

  const off = newPod({ automountServiceAccountToken: false });
  mountServiceAccountToken(off, account());
  t.is(off.spec.volumes.length, 1);
  const byAccount = newPod();
  mountServiceAccountToken(byAccount, account({ automountServiceAccountToken: false }));
  t.is(byAccount.spec.volumes.length, 1);
  const podOverrides = newPod({ automountServiceAccountToken: true });
  mountServiceAccountToken(podOverrides, account({ automountServiceAccountToken: false }));
  t.is(podOverrides.spec.volumes.length, 2);
  const noAccount = newPod();
  mountServiceAccountToken(noAccount, undefined);
  t.is(noAccount.spec.volumes.length, 1, 'no account (yet): no token volume');
});

test('kube-root-ca.crt: created in active namespaces, put back when changed, left alone when right', (t) => {
  const ns = { metadata: { name: 'ns' }, status: { phase: 'Active' } } as KubeObject;
  const create = planRootCaConfigMap(ns, undefined, 'PEM').actions[0] as Any;
  t.is(create.kind, 'create');
  t.deepEqual(create.object.data, { 'ca.crt': 'PEM' });
  t.is(create.object.metadata.name, 'kube-root-ca.crt');
  const good = {
    metadata: { name: 'kube-root-ca.crt', namespace: 'ns', resourceVersion: '5' },
    data: { 'ca.crt': 'PEM' },
  } as KubeObject;
  t.deepEqual(planRootCaConfigMap(ns, good, 'PEM').actions, []);
  const update = planRootCaConfigMap(ns, { ...good, data: { 'ca.crt': 'OLD' } } as KubeObject, 'PEM').actions[0] as Any;
  t.is(update.kind, 'update');
  t.is(update.object.metadata.resourceVersion, '5');
  t.deepEqual(
    planRootCaConfigMap({ ...ns, status: { phase: 'Terminating' } } as KubeObject, undefined, 'PEM').actions,
    [],
  );
});

test('node authorizer: a node may request tokens only for service accounts its pods run as', async (t) => {
  const pods = [
    { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1', serviceAccountName: 'builder' } },
  ] as KubeObject[];
  const authz = new NodeAuthorizer({
    podsOnNode: async (node) => (node === 'n1' ? pods : []),
    pod: async () => undefined,
  });
  const ask = (node: string, namespace: string, name: string, verb = 'create') =>
    authz.authorize({
      user: { name: `system:node:${node}`, groups: ['system:nodes'] },
      verb,
      resource: { group: '', resource: 'serviceaccounts', subresource: 'token', namespace, name },
    });
  t.true((await ask('n1', 'ns', 'builder')).allowed);
  t.false((await ask('n1', 'ns', 'default')).allowed, 'an account no pod of the node uses');
  t.false((await ask('n1', 'other', 'builder')).allowed, 'same name, other namespace');
  t.false((await ask('n2', 'ns', 'builder')).allowed, 'another node');
  t.false((await ask('n1', 'ns', 'builder', 'get')).allowed);
});

test('TokenRequest from a node: only bound to a pod of that node, for the account that pod runs as', async (t) => {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const pods: Record<string, KubeObject> = {
    mine: {
      metadata: { name: 'mine', namespace: 'ns', uid: 'u1' },
      spec: { nodeName: 'n1', serviceAccountName: 'builder' },
    } as KubeObject,
    theirs: {
      metadata: { name: 'theirs', namespace: 'ns', uid: 'u2' },
      spec: { nodeName: 'n2', serviceAccountName: 'builder' },
    } as KubeObject,
  };
  const handler = tokenRequestHandler({
    tokens: new ServiceAccountTokens(privateKey),
    serviceAccount: async (_ns, name) => ({ metadata: { name, namespace: 'ns', uid: `sa-${name}` } }) as KubeObject,
    pod: async (_ns, name) => pods[name],
  });
  const node = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
  const ask = (user: typeof node, account: string, podName?: string) =>
    handler({
      user,
      request: { namespace: 'ns', name: account },
      body: {
        spec: {
          expirationSeconds: 600,
          ...(podName ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: podName } } : {}),
        },
      },
    } as never);
  t.is((await ask(node, 'builder', 'mine')).code, 201);
  await t.throwsAsync(ask(node, 'builder', 'theirs'), { message: /can only create tokens for pods bound to it/ });
  await t.throwsAsync(
    ask(node, 'default', 'mine'),
    { message: /can only create tokens for pods bound to it/ },
    'not the account the pod runs as',
  );
  await t.throwsAsync(
    ask(node, 'builder'),
    { message: /can only create tokens for pods bound to it/ },
    'an unbound token',
  );
  t.is(
    (await ask({ name: 'admin', groups: ['system:masters'] }, 'builder')).code,
    201,
    'other callers are not limited by this',
  );
});
