/**
 * The control plane's certificate decisions (pure): which node requests are approved without a
 * person, the certificate issued for them, and the cluster-info signatures per bootstrap token.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import {
  decide,
  parseRequest,
  signRequest,
  kubeletClientSigner,
  kubeletServingSigner,
  type CsrObject,
  type ParsedRequest,
} from '../../../controlplane/certificates/csr.ts';
import { signerRefusal } from '../../../controlplane/certificates/signer-rules.ts';
import { reservedServingNames } from '../../../controlplane/certificates/reserved-names.ts';
import { planClusterInfo } from '../../../controlplane/certificates/cluster-info.ts';
import { kubeletUsages, nodeCertificateRequest } from '../../../agent/certs/node-csr.ts';
import { verifyDetached } from '../../../kube/bootstrap.ts';
import { createCertificateAuthority } from '../../../controlplane/pki/certificates.ts';

const ca = createCertificateAuthority('test-ca');

function servingRequest(node: string, dns: string[], ips: string[]): string {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject([
    { name: 'organizationName', value: 'system:nodes' },
    { name: 'commonName', value: `system:node:${node}` },
  ]);
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
        },
      ],
    },
  ]);
  csr.sign(keys.privateKey, forge.md.sha256.create());
  return Buffer.from(forge.pki.certificationRequestToPem(csr)).toString('base64');
}

function csr(
  request: string,
  signerName: string,
  requester: { username: string; groups: string[] },
  usages: string[],
): CsrObject {
  return { metadata: { name: 'x' }, spec: { request, signerName, usages, ...requester } };
}

const clientRequest = Buffer.from((await nodeCertificateRequest('node-1')).csrPem).toString('base64');
const bootstrapper = { username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:authenticated'] };
const node1 = { username: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] };
const stranger = { username: 'alice', groups: ['system:authenticated'] };
const clientUsages = ['digital signature', 'key encipherment', 'client auth'];
const addresses = () => ['172.30.0.11', 'node-1'];

test('a node client request reads back: subject system:node:<name>, group system:nodes, no names', async (t) => {
  const parsed = await parseRequest(clientRequest);
  t.is(parsed.commonName, 'system:node:node-1');
  t.deepEqual(parsed.organizations, ['system:nodes']);
  t.deepEqual([...parsed.dnsNames, ...parsed.ipAddresses], []);
});

const cases: [string, CsrObject, 'approve' | 'wait'][] = [
  [
    'client cert asked with a bootstrap token',
    csr(clientRequest, kubeletClientSigner, bootstrapper, clientUsages),
    'approve',
  ],
  ['client cert renewal by the node itself', csr(clientRequest, kubeletClientSigner, node1, clientUsages), 'approve'],
  [
    'client cert for node-1 asked by another node',
    csr(clientRequest, kubeletClientSigner, { username: 'system:node:node-2', groups: ['system:nodes'] }, clientUsages),
    'wait',
  ],
  ['client cert asked by an ordinary user', csr(clientRequest, kubeletClientSigner, stranger, clientUsages), 'wait'],
  [
    'client cert with server auth usage',
    csr(clientRequest, kubeletClientSigner, bootstrapper, [...clientUsages, 'server auth']),
    'wait',
  ],
  ['other signer', csr(clientRequest, 'example.com/custom', bootstrapper, clientUsages), 'wait'],
  [
    'serving cert for the node own names',
    csr(servingRequest('node-1', ['node-1'], ['172.30.0.11']), kubeletServingSigner, node1, [
      'digital signature',
      'key encipherment',
      'server auth',
    ]),
    'approve',
  ],
  [
    'serving cert with a name the node does not report',
    csr(servingRequest('node-1', ['node-1', 'evil.example.com'], []), kubeletServingSigner, node1, [
      'digital signature',
      'server auth',
    ]),
    'wait',
  ],
  [
    'serving cert asked with a bootstrap token',
    csr(servingRequest('node-1', ['node-1'], []), kubeletServingSigner, bootstrapper, ['server auth']),
    'wait',
  ],
];

for (const [title, object, expected] of cases) {
  test(`approval: ${title} → ${expected}`, async (t) => {
    t.is(
      decide(object, await parseRequest(object.spec.request), addresses, reservedServingNames('10.96.0.0/12')).kind,
      expected,
    );
  });
}

test('the issued certificate is signed by the CA, names the node, is backdated and lasts a year at most', async (t) => {
  const object = csr(clientRequest, kubeletClientSigner, bootstrapper, clientUsages);
  const now = Date.now();
  const pem = await signRequest(ca, object, await parseRequest(object.spec.request), now);
  const cert = new X509Certificate(pem);
  t.true(cert.verify(new X509Certificate(ca.cert).publicKey));
  t.regex(cert.subject, /CN=system:node:node-1/);
  t.regex(cert.subject, /O=system:nodes/);
  t.true(Date.parse(cert.validFrom) <= now - 4 * 60 * 1000, 'backdated for clock skew');
  t.true(Date.parse(cert.validTo) <= now + 366 * 24 * 3600 * 1000);
  t.false(cert.ca);
});

test('cluster-info gets one signature per signing, unexpired token, and loses stale ones', (t) => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const token = (id: string, extra: Record<string, string> = {}) => ({
    type: 'bootstrap.kubernetes.io/token',
    data: {
      'token-id': b64(id),
      'token-secret': b64('0123456789abcdef'),
      'usage-bootstrap-signing': b64('true'),
      ...extra,
    },
  });
  const now = Date.parse('2026-11-22T00:00:00Z');
  const data = { kubeconfig: 'apiVersion: v1\n', 'jws-kubeconfig-oldold': 'stale' };
  const next = planClusterInfo(
    data,
    [
      token('aaaaaa'),
      token('bbbbbb', { expiration: b64('2026-11-21T00:00:00Z') }),
      token('cccccc', { 'usage-bootstrap-signing': b64('false') }),
      { type: 'Opaque', data: { 'token-id': b64('dddddd') } },
    ],
    now,
  );
  t.truthy(next);
  t.deepEqual(Object.keys(next!).sort(), ['jws-kubeconfig-aaaaaa', 'kubeconfig']);
  t.true(
    verifyDetached('apiVersion: v1\n', next!['jws-kubeconfig-aaaaaa']!, { id: 'aaaaaa', secret: '0123456789abcdef' })
      .ok,
  );
  t.is(planClusterInfo(next!, [token('aaaaaa')], now), undefined, 'nothing to do once signed');
});

const parsedAs = (fields: Partial<ParsedRequest>): ParsedRequest => ({
  commonName: 'system:node:node-1',
  organizations: ['system:nodes'],
  dnsNames: [],
  ipAddresses: [],
  emailAddresses: [],
  uris: [],
  publicKey: new ArrayBuffer(0),
  keyAlgorithm: 'ECDSA',
  ...fields,
});
const signerCases: [string, string, Partial<ParsedRequest>, string[], string | undefined][] = [
  ['kubelet client, ECDSA usages', kubeletClientSigner, {}, ['digital signature', 'client auth'], undefined],
  [
    'kubelet client, RSA usages',
    kubeletClientSigner,
    {},
    ['digital signature', 'key encipherment', 'client auth'],
    undefined,
  ],
  [
    'kubelet client for system:masters',
    kubeletClientSigner,
    { organizations: ['system:masters'] },
    ['digital signature', 'client auth'],
    'certificates for the group system:masters are never issued through the certificates API',
  ],
  [
    'kubelet client with a second group',
    kubeletClientSigner,
    { organizations: ['system:nodes', 'ops'] },
    ['digital signature', 'client auth'],
    'subject organization is not system:nodes',
  ],
  [
    'kubelet client with a DNS name',
    kubeletClientSigner,
    { dnsNames: ['node-1'] },
    ['digital signature', 'client auth'],
    'DNS subjectAltNames are not allowed',
  ],
  [
    'kubelet client for a user',
    kubeletClientSigner,
    { commonName: 'alice' },
    ['digital signature', 'client auth'],
    'subject common name does not begin with system:node:',
  ],
  [
    'kubelet client asking server auth too',
    kubeletClientSigner,
    {},
    ['digital signature', 'client auth', 'server auth'],
    'usages did not match [client auth digital signature key encipherment]',
  ],
  [
    'kubelet serving with an address',
    kubeletServingSigner,
    { ipAddresses: ['10.0.0.1'] },
    ['digital signature', 'server auth'],
    undefined,
  ],
  [
    'kubelet serving without names',
    kubeletServingSigner,
    {},
    ['digital signature', 'server auth'],
    'DNS or IP subjectAltName is required',
  ],
  [
    'kubelet serving with an email',
    kubeletServingSigner,
    { dnsNames: ['node-1'], emailAddresses: ['a@example.com'] },
    ['digital signature', 'server auth'],
    'Email subjectAltNames are not allowed',
  ],
  [
    'kubelet serving with a URI',
    kubeletServingSigner,
    { dnsNames: ['node-1'], uris: ['spiffe://x'] },
    ['digital signature', 'server auth'],
    'URI subjectAltNames are not allowed',
  ],
  [
    'API client for anyone',
    'kubernetes.io/kube-apiserver-client',
    { commonName: 'alice', organizations: ['ops'] },
    ['client auth'],
    undefined,
  ],
  [
    'API client for system:masters',
    'kubernetes.io/kube-apiserver-client',
    { commonName: 'alice', organizations: ['system:masters'] },
    ['client auth'],
    'certificates for the group system:masters are never issued through the certificates API',
  ],
  [
    'API client asking server auth',
    'kubernetes.io/kube-apiserver-client',
    { commonName: 'alice' },
    ['client auth', 'server auth'],
    'invalid usage for client certificate: server auth',
  ],
  [
    'API client without client auth',
    'kubernetes.io/kube-apiserver-client',
    { commonName: 'alice' },
    ['digital signature'],
    'missing required usage for client certificate: client auth',
  ],
  [
    'legacy-unknown',
    'kubernetes.io/legacy-unknown',
    {},
    ['client auth'],
    'signer kubernetes.io/legacy-unknown is not served by this control plane',
  ],
];
for (const [title, signer, fields, usages, expected] of signerCases) {
  test(`signer rules: ${title} → ${expected ?? 'signed'}`, (t) => {
    t.is(signerRefusal(signer, parsedAs(fields), usages), expected);
  });
}

test('a node asks with an ECDSA P-256 key, as upstream kubelets do, and so without key encipherment', async (t) => {
  const { csrPem, keyPem } = await nodeCertificateRequest('node-1', { dns: ['node-1'], ips: ['172.30.0.11'] });
  const parsed = await parseRequest(Buffer.from(csrPem).toString('base64'));
  t.is(parsed.keyAlgorithm, 'ECDSA');
  t.is(parsed.commonName, 'system:node:node-1');
  t.deepEqual(parsed.organizations, ['system:nodes']);
  t.deepEqual([parsed.dnsNames, parsed.ipAddresses], [['node-1'], ['172.30.0.11']]);
  t.deepEqual(kubeletUsages(keyPem, 'client auth'), ['digital signature', 'client auth']);
  t.deepEqual(
    kubeletUsages(ca.key, 'server auth'),
    ['digital signature', 'key encipherment', 'server auth'],
    'an RSA key also enciphers',
  );
});
