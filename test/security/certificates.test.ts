/**
 * The CSR API against a real server with real identities: a bootstrap token, a node certificate, a
 * user with only CSR rights, the admin. Nobody gets a certificate its signer's rules refuse, nobody
 * approves without `approve` on the signer, the legacy signer signs nothing, a node's serving
 * certificate names only addresses recorded for it, and ECDSA P-256 and Ed25519 keys work.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { kubeconfigYaml } from '../../controlplane/pki/kubeconfig.ts';
import { join } from 'node:path';
import { KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { x509 } from '../../kube/x509.ts';
import { issueCertificate } from '../../controlplane/pki/certificates.ts';
import {
  adminIdentity,
  call,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { kubectl as runKubectl } from '../bed/kubectl.ts';

let server: ServerProcess;
let admin: Identity;
let ca: { cert: string; key: string };
const bootstrap: Identity = { token: 'abcdef.0123456789abcdef' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  ca = {
    cert: readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(server.dataDir, 'pki/ca.key'), 'utf8'),
  };
  const secret = await call(server, 'POST', '/api/v1/namespaces/kube-system/secrets', admin, {
    metadata: { name: 'bootstrap-token-abcdef' },
    type: 'bootstrap.kubernetes.io/token',
    data: {
      'token-id': b64('abcdef'),
      'token-secret': b64('0123456789abcdef'),
      'usage-bootstrap-authentication': b64('true'),
      'auth-extra-groups': b64('system:bootstrappers:kubeadm:default-node-token'),
    },
  });
  if (secret.status !== 201) throw new Error(`bootstrap token: ${JSON.stringify(secret.body)}`);
});
test.after.always(async () => {
  await server?.destroy();
});

type KeyKind = 'ECDSA' | 'Ed25519' | 'RSA';
const keyParams = {
  ECDSA: { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  Ed25519: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  RSA: {
    generate: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
} as const;

/** A PKCS#10 request (base64 PEM, as spec.request holds it) and its private key (PEM). */
async function certificateRequest(
  subject: string,
  kind: KeyKind = 'ECDSA',
  names: { type: 'dns' | 'ip'; value: string }[] = [],
): Promise<{ request: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(keyParams[kind].generate, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: keys as never,
    signingAlgorithm: keyParams[kind].sign,
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { request: b64(csr.toString('pem')), key };
}

function csrObject(
  name: string,
  request: string,
  signerName: string,
  usages: string[],
  status?: unknown,
): Record<string, unknown> {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request, signerName, usages },
    ...(status ? { status } : {}),
  };
}

const approved = { conditions: [{ type: 'Approved', status: 'True', reason: 'Mine', message: 'approved by myself' }] };

/** Polls the request until `done` holds or `ms` pass; returns the last object read. */
async function watchRequest(name: string, done: (csr: any) => boolean, ms: number): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const reply = await call(server, 'GET', `${csrs}/${name}`, admin);
    if (done(reply.body) || Date.now() > deadline) return reply.body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const issued = (csr: any) => typeof csr?.status?.certificate === 'string' && csr.status.certificate !== '';
const settled = (csr: any) =>
  issued(csr) || (csr?.status?.conditions ?? []).some((c: any) => c.type === 'Failed' || c.type === 'Denied');

/** Runs real kubectl; resolves with its exit code and output, whatever the code. */
function kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl({ kubeconfig, timeoutMs: 30_000 }, args);
}

/** The server still serves everyone else after each attempt. */
async function serverStillAnswers(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  t.is((await call(server, 'GET', '/readyz')).status, 200, 'readyz');
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/configmaps', admin)).status, 200, 'an ordinary list');
}

test('a bootstrap token asking for system:masters with Approved already in the body never gets a certificate', async (t) => {
  const kubelet = await certificateRequest('CN=system:node:evil, O=system:masters', 'RSA');
  const client = await certificateRequest('CN=evil-admin, O=system:masters');
  const asks = [
    csrObject(
      'masters-kubelet',
      kubelet.request,
      'kubernetes.io/kube-apiserver-client-kubelet',
      ['digital signature', 'key encipherment', 'client auth'],
      approved,
    ),
    csrObject(
      'masters-client',
      client.request,
      'kubernetes.io/kube-apiserver-client',
      ['digital signature', 'client auth'],
      approved,
    ),
  ];
  for (const ask of asks) {
    const created = await call(server, 'POST', csrs, bootstrap, ask);
    t.is(created.status, 201, JSON.stringify(created.body));
    t.deepEqual(created.body.status ?? {}, {}, 'status is not taken from the client');
  }
  // the signer runs every second: three rounds at least
  // not even the admin may approve one
  const current = (await call(server, 'GET', `${csrs}/masters-client`, admin)).body;
  const approval = await call(server, 'PUT', `${csrs}/masters-client/approval`, admin, {
    ...current,
    status: approved,
  });
  t.is(approval.status, 403, JSON.stringify(approval.body));
  t.is(
    approval.body.message,
    'certificatesigningrequests.certificates.k8s.io "masters-client" is forbidden: requests for the group system:masters may not be approved',
  );
  const lasts = await Promise.all(
    ['masters-kubelet', 'masters-client'].map((name) => watchRequest(name, issued, 3_500)),
  );
  for (const last of lasts) {
    t.false(issued(last), `${last.metadata.name} got a certificate`);
    t.false(
      (last.status?.conditions ?? []).some((c: any) => c.type === 'Approved'),
      `${last.metadata.name} is approved`,
    );
  }
  await serverStillAnswers(t);
});

test('approval needs approve on the signer: without it 403 and nothing changes; with it the request is signed', async (t) => {
  const user = issueCertificate(ca, { commonName: 'csr-clerk', usage: 'client' });
  const clerk: Identity = { cert: user.cert, key: user.key };
  const role = {
    metadata: { name: 'csr-clerk' },
    rules: [
      {
        apiGroups: ['certificates.k8s.io'],
        resources: [
          'certificatesigningrequests',
          'certificatesigningrequests/approval',
          'certificatesigningrequests/status',
        ],
        verbs: ['get', 'list', 'create', 'update'],
      },
    ],
  };
  t.is((await call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', admin, role)).status, 201);
  const binding = {
    metadata: { name: 'csr-clerk' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'csr-clerk' },
    subjects: [{ kind: 'User', name: 'csr-clerk', apiGroup: 'rbac.authorization.k8s.io' }],
  };
  t.is(
    (await call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', admin, binding)).status,
    201,
  );

  const ask = await certificateRequest('CN=reporter, O=reporters');
  t.is(
    (
      await call(
        server,
        'POST',
        csrs,
        clerk,
        csrObject('reporter', ask.request, 'kubernetes.io/kube-apiserver-client', ['client auth']),
      )
    ).status,
    201,
  );
  const current = (await call(server, 'GET', `${csrs}/reporter`, clerk)).body;
  const withApproval = {
    ...current,
    status: {
      conditions: [
        {
          type: 'Approved',
          status: 'True',
          reason: 'KubectlApprove',
          message: 'This CSR was approved by kubectl certificate approve.',
        },
      ],
    },
  };

  // as `kubectl certificate approve` does it, then with kubectl itself
  const refused = await call(server, 'PUT', `${csrs}/reporter/approval`, clerk, withApproval);
  t.is(refused.status, 403, JSON.stringify(refused.body));
  t.is(
    refused.body.message,
    'certificatesigningrequests.certificates.k8s.io "reporter" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"',
  );
  const kubeconfig = join(server.dataDir, 'csr-clerk.kubeconfig');
  writeFileSync(
    kubeconfig,
    kubeconfigYaml({
      cluster: 'bosun',
      server: server.url,
      caPem: ca.cert,
      user: 'csr-clerk',
      clientCertPem: user.cert,
      clientKeyPem: user.key,
    }),
    { mode: 0o600 },
  );
  const viaKubectl = await kubectl(kubeconfig, 'certificate', 'approve', 'reporter');
  t.not(viaKubectl.code, 0);
  t.regex(
    viaKubectl.stderr,
    /user not permitted to approve requests with signerName "kubernetes\.io\/kube-apiserver-client"/,
  );
  // nor through status, which never adds approvals
  const throughStatus = await call(server, 'PUT', `${csrs}/reporter/status`, clerk, withApproval);
  t.is(throughStatus.status, 422, JSON.stringify(throughStatus.body));
  t.regex(
    throughStatus.body.message,
    /status\.conditions: Forbidden: updates may not add a condition of type "Approved"/,
  );
  // nor a certificate written by someone who may not sign
  const forged = issueCertificate(ca, { commonName: 'reporter', usage: 'client' });
  const signing = await call(server, 'PUT', `${csrs}/reporter/status`, clerk, {
    ...current,
    status: { certificate: b64(forged.cert) },
  });
  t.is(signing.status, 403, JSON.stringify(signing.body));
  t.regex(
    signing.body.message,
    /user not permitted to sign requests with signerName "kubernetes.io\/kube-apiserver-client"/,
  );
  const unchanged = (await call(server, 'GET', `${csrs}/reporter`, admin)).body;
  t.deepEqual(unchanged.status ?? {}, {}, 'nothing was stored');
  t.is(unchanged.metadata.resourceVersion, current.metadata.resourceVersion);
  await serverStillAnswers(t);

  const signerRole = {
    metadata: { name: 'client-approver' },
    rules: [
      {
        apiGroups: ['certificates.k8s.io'],
        resources: ['signers'],
        resourceNames: ['kubernetes.io/kube-apiserver-client'],
        verbs: ['approve'],
      },
    ],
  };
  t.is((await call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', admin, signerRole)).status, 201);
  t.is(
    (
      await call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', admin, {
        ...binding,
        metadata: { name: 'client-approver' },
        roleRef: { ...binding.roleRef, name: 'client-approver' },
      })
    ).status,
    201,
  );
  const allowed = await kubectl(kubeconfig, 'certificate', 'approve', 'reporter');
  t.is(allowed.code, 0, allowed.stderr);
  const signed = await watchRequest('reporter', issued, 5_000);
  t.true(issued(signed), 'the approved request is signed');
  const cert = new X509Certificate(Buffer.from(signed.status.certificate, 'base64'));
  t.regex(cert.subject, /CN=reporter/);
  t.true(cert.verify(new X509Certificate(ca.cert).publicKey));
});

test('the legacy-unknown signer is refused at create and nothing is stored', async (t) => {
  const ask = await certificateRequest('CN=system:node:legacy, O=system:nodes');
  const reply = await call(
    server,
    'POST',
    csrs,
    admin,
    csrObject('legacy', ask.request, 'kubernetes.io/legacy-unknown', ['client auth']),
  );
  t.is(reply.status, 422, JSON.stringify(reply.body));
  // upstream qualifies the kind with its group; bosun's field errors may not (yet)
  t.regex(
    reply.body.message,
    /^CertificateSigningRequest(\.certificates\.k8s\.io)? "legacy" is invalid: spec\.signerName: Invalid value: "kubernetes\.io\/legacy-unknown": the legacy signerName is not allowed via this API version$/,
  );
  t.is((await call(server, 'GET', `${csrs}/legacy`, admin)).status, 404);
  await serverStillAnswers(t);
});

test('an approved kubelet request that breaks its signer rules is marked Failed, not signed', async (t) => {
  const ask = await certificateRequest('CN=alice, O=system:nodes');
  t.is(
    (
      await call(
        server,
        'POST',
        csrs,
        admin,
        csrObject('not-a-node', ask.request, 'kubernetes.io/kube-apiserver-client-kubelet', [
          'digital signature',
          'client auth',
        ]),
      )
    ).status,
    201,
  );
  const current = (await call(server, 'GET', `${csrs}/not-a-node`, admin)).body;
  t.is((await call(server, 'PUT', `${csrs}/not-a-node/approval`, admin, { ...current, status: approved })).status, 200);
  const last = await watchRequest('not-a-node', settled, 5_000);
  t.false(issued(last));
  const failed = (last.status?.conditions ?? []).find((c: any) => c.type === 'Failed');
  t.like(failed, {
    status: 'True',
    reason: 'SignerValidationFailure',
    message: 'subject common name does not begin with system:node:',
  });
});

test('a node serving request for an address the node only wrote into its status is not approved', async (t) => {
  const pair = issueCertificate(ca, {
    commonName: 'system:node:serve-1',
    organizations: ['system:nodes'],
    usage: 'client',
  });
  const node: Identity = { cert: pair.cert, key: pair.key };
  const registered = await call(server, 'POST', '/api/v1/nodes', node, {
    metadata: { name: 'serve-1' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.20.0.1' },
        { type: 'Hostname', address: 'serve-1' },
      ],
    },
  });
  t.is(registered.status, 201, JSON.stringify(registered.body));
  // later the node claims the API server's address too
  const claim = await call(
    server,
    'PATCH',
    '/api/v1/nodes/serve-1/status',
    node,
    {
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.20.0.1' },
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: 'serve-1' },
        ],
      },
    },
    'application/merge-patch+json',
  );
  t.is(claim.status, 200, JSON.stringify(claim.body));
  const servingUsages = ['digital signature', 'server auth'];
  const foreign = await certificateRequest('CN=system:node:serve-1, O=system:nodes', 'ECDSA', [
    { type: 'dns', value: 'serve-1' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
  const own = await certificateRequest('CN=system:node:serve-1, O=system:nodes', 'ECDSA', [
    { type: 'dns', value: 'serve-1' },
    { type: 'ip', value: '10.20.0.1' },
  ]);
  t.is(
    (
      await call(
        server,
        'POST',
        csrs,
        node,
        csrObject('serve-foreign', foreign.request, 'kubernetes.io/kubelet-serving', servingUsages),
      )
    ).status,
    201,
  );
  t.is(
    (
      await call(
        server,
        'POST',
        csrs,
        node,
        csrObject('serve-own', own.request, 'kubernetes.io/kubelet-serving', servingUsages),
      )
    ).status,
    201,
  );
  const ownCsr = await watchRequest('serve-own', issued, 5_000);
  t.true(issued(ownCsr), 'the node own address is approved and signed');
  const foreignCsr = await watchRequest('serve-foreign', issued, 1_500);
  t.false(issued(foreignCsr));
  t.deepEqual(foreignCsr.status?.conditions ?? [], [], 'left for a person to decide');
});

for (const kind of ['ECDSA', 'Ed25519'] as const) {
  test(`a node client request from an ${kind} key is signed and the certificate authenticates as that node`, async (t) => {
    const name = `key-${kind.toLowerCase()}`;
    const ask = await certificateRequest(`CN=system:node:${name}, O=system:nodes`, kind);
    t.is(
      (
        await call(
          server,
          'POST',
          csrs,
          bootstrap,
          csrObject(`node-csr-${name}`, ask.request, 'kubernetes.io/kube-apiserver-client-kubelet', [
            'digital signature',
            'client auth',
          ]),
        )
      ).status,
      201,
    );
    const csr = await watchRequest(`node-csr-${name}`, issued, 5_000);
    t.true(issued(csr), JSON.stringify(csr.status));
    const cert = Buffer.from(csr.status.certificate, 'base64').toString();
    t.is(
      new X509Certificate(cert).publicKey.asymmetricKeyType,
      kind === 'ECDSA' ? 'ec' : 'ed25519',
      'the key the node asked with',
    );
    const node: Identity = { cert, key: ask.key };
    t.is((await call(server, 'POST', '/api/v1/nodes', node, { metadata: { name } })).status, 201);
    t.is((await call(server, 'GET', `/api/v1/nodes/${name}`, node)).status, 200);
    t.is(
      (
        await call(
          server,
          'PATCH',
          '/api/v1/nodes/serve-1',
          node,
          { metadata: { labels: { x: 'y' } } },
          'application/merge-patch+json',
        )
      ).status,
      403,
      'only as itself',
    );
  });
}
