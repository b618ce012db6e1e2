/**
 * A node's serving certificate and the API server's own names. Every client verifies the API
 * server with the cluster CA, which also signs kubelet serving certificates; a node could register
 * itself at the `kubernetes` Service's IP, as `kubernetes.default.svc` or under the node name
 * `kubernetes` (a bootstrap token can make such a node) and had a certificate for those names
 * approved and signed by the control plane within a second: enough to pose as the API server to
 * every pod. Played with node certificates against a real server process: such requests wait for
 * a person, and the node's real names are still approved.
 */
import test from 'ava';
import { webcrypto, X509Certificate } from 'node:crypto';
import { x509 } from '../../kube/x509.ts';
import {
  adminIdentity,
  call,
  startServerProcess,
  userIdentity,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';

let server: ServerProcess;
let admin: Identity;
const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const apiServiceIP = '10.96.0.1';

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
});

type San = { type: 'dns' | 'ip'; value: string };

/** A node that registers itself with `addresses` and asks for a serving certificate naming `sans`. */
async function askAsNode(
  node: string,
  addresses: { type: string; address: string }[],
  requests: Record<string, San[]>,
): Promise<Identity> {
  const identity = userIdentity(server.dataDir, `system:node:${node}`, ['system:nodes']);
  const registered = await call(server, 'POST', '/api/v1/nodes', identity, {
    metadata: { name: node },
    status: { addresses },
  });
  if (registered.status !== 201) throw new Error(`registering ${node}: ${JSON.stringify(registered.body)}`);
  for (const [name, sans] of Object.entries(requests)) {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const pkcs10 = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=system:node:${node}, O=system:nodes`,
      keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension(sans)],
    });
    const created = await call(server, 'POST', csrs, identity, {
      metadata: { name },
      spec: {
        request: Buffer.from(pkcs10.toString('pem')).toString('base64'),
        signerName: 'kubernetes.io/kubelet-serving',
        usages: ['digital signature', 'server auth'],
      },
    });
    if (created.status !== 201) throw new Error(`${name}: ${JSON.stringify(created.body)}`);
  }
  return identity;
}

const statusOf = async (name: string) => (await call(server, 'GET', `${csrs}/${name}`, admin)).body.status ?? {};
const issued = async (name: string) => typeof (await statusOf(name)).certificate === 'string';

test('a node registered at the API server Service address and name gets no certificate for them, only for its own address', async (t) => {
  // the reserved ones first: once the clean request (created last) is issued, the loop has looked at them
  await askAsNode(
    'posing',
    [
      { type: 'InternalIP', address: '172.30.0.50' },
      { type: 'InternalIP', address: apiServiceIP },
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: 'kubernetes.default.svc' },
    ],
    {
      'posing-service-ip': [
        { type: 'dns', value: 'posing' },
        { type: 'ip', value: apiServiceIP },
      ],
      'posing-service-name': [
        { type: 'dns', value: 'posing' },
        { type: 'dns', value: 'kubernetes.default.svc' },
      ],
      'posing-loopback': [
        { type: 'dns', value: 'posing' },
        { type: 'ip', value: '127.0.0.1' },
      ],
      'posing-own': [
        { type: 'dns', value: 'posing' },
        { type: 'ip', value: '172.30.0.50' },
      ],
    },
  );
  await waitFor('the node own serving certificate', () => issued('posing-own'), 15_000);
  t.true(
    new X509Certificate(Buffer.from((await statusOf('posing-own')).certificate, 'base64')).checkIP('172.30.0.50') !==
      undefined,
  );
  for (const name of ['posing-service-ip', 'posing-service-name', 'posing-loopback']) {
    t.deepEqual(await statusOf(name), {}, `${name} is neither approved nor signed`);
  }
});

test('a node named kubernetes gets no certificate for that name', async (t) => {
  await askAsNode('kubernetes', [{ type: 'InternalIP', address: '172.30.0.51' }], {
    'named-kubernetes': [
      { type: 'dns', value: 'kubernetes' },
      { type: 'ip', value: '172.30.0.51' },
    ],
  });
  await askAsNode('honest', [{ type: 'InternalIP', address: '172.30.0.52' }], {
    'honest-own': [
      { type: 'dns', value: 'honest' },
      { type: 'ip', value: '172.30.0.52' },
    ],
  });
  await waitFor('the honest node serving certificate', () => issued('honest-own'), 15_000);
  t.deepEqual(await statusOf('named-kubernetes'), {});
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});
