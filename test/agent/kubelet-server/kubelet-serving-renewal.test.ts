/**
 * The kubelet port's serving certificate when the cluster is slow to sign: the port comes up with
 * a self-signed certificate, keeps asking, and serves the cluster-issued one as soon as it exists,
 * without a restart. The API is a stateful fake (CSRs stored, signed on demand by a test CA).
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { KubeletPort } from '../../../agent/kubelet-server/kubelet-port.ts';
import { obtainServingCertificate, renewalDueMs } from '../../../agent/kubelet-server/serving-cert.ts';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { writeKeyPair } from '../../../kube/key-pair-files.ts';
import { FakeRuntime } from '../../../cri/fake.ts';
import { createCertificateAuthority } from '../../../controlplane/pki/certificates.ts';
import { parseRequest, signRequest, type CsrObject } from '../../../controlplane/certificates/csr.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { waitFor } from '../../helpers/wait.ts';

/** CSRs kept by name; `issue()` signs every pending one, as an approver and signer would. */
class FakeCsrApi {
  readonly csrs = new Map<string, CsrObject>();
  readonly ca: { cert: string; key: string };
  constructor(ca: { cert: string; key: string }) {
    this.ca = ca;
  }
  async create(_ref: unknown, object: CsrObject) {
    this.csrs.set(object.metadata.name, structuredClone(object));
    return object;
  }
  async get(_ref: unknown, name: string) {
    const csr = this.csrs.get(name);
    if (csr === undefined) throw new Error(`certificatesigningrequests "${name}" not found`);
    return structuredClone(csr);
  }
  async issue(): Promise<number> {
    let issued = 0;
    for (const csr of this.csrs.values()) {
      if (csr.status?.certificate) continue;
      const pem = await signRequest(this.ca, csr, await parseRequest(csr.spec.request));
      csr.status = {
        conditions: [{ type: 'Approved', status: 'True' }],
        certificate: Buffer.from(pem).toString('base64'),
      };
      issued++;
    }
    return issued;
  }
}

function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      raw ? resolve(raw) : reject(new Error('no certificate'));
    });
    socket.on('error', reject);
  });
}

test('a self-signed fallback is replaced by the issued certificate without a restart', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-serving-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const ca = createCertificateAuthority('test-ca');
  const api = new FakeCsrApi(ca);
  const port = new KubeletPort({
    nodeName: 'node-1',
    nodeIP: '127.0.0.1',
    address: '127.0.0.1',
    port: 0,
    certificate: undefined,
    caPem: ca.cert,
    client: api as unknown as KubeClient,
    runtime: new FakeRuntime(),
    pods: () => [],
    podLogDir: root,
    rootDir: root,
    log: pino({ level: 'silent' }),
    certificateTimeoutMs: 300,
    certificateRetryMs: 200,
  });
  t.teardown(() => port.close());
  const bound = await port.listening;
  if (bound === undefined) return t.fail('the kubelet port did not start');
  const caCert = new X509Certificate(ca.cert);
  const fallback = await servedCertificate(bound);
  t.false(fallback.checkIssued(caCert), 'first served: the self-signed fallback');
  // an ECDSA P-256 key, as the node's requests carry: an RSA-2048 one costs the agent 0.1-0.3 s of CPU
  t.is(fallback.publicKey.asymmetricKeyType, 'ec');
  // the signer catches up: every request the port made from now on is issued
  await waitFor(
    async () => {
      await api.issue();
      return (await servedCertificate(bound)).checkIssued(caCert);
    },
    { what: 'the port to serve a certificate issued by the cluster CA', timeoutMs: 20_000, intervalMs: 100 },
  );
  const served = await servedCertificate(bound);
  t.true(served.checkIP('127.0.0.1') !== undefined && served.subject.includes('CN=system:node:node-1'));
});

test("renewal is due soon after a fallback and at 80 % of an issued certificate's life", (t) => {
  const ca = createCertificateAuthority('test-ca', 10);
  t.is(renewalDueMs({ certPem: 'x', keyPem: 'y', source: 'self-signed' }, 1_000, 30_000), 31_000);
  const cert = new X509Certificate(ca.cert);
  const from = Date.parse(cert.validFrom);
  const due = renewalDueMs({ certPem: ca.cert, keyPem: ca.key, source: 'issued' }, from, 30_000);
  t.is(due, from + 0.8 * (Date.parse(cert.validTo) - from));
});

test('a serving pair left half-replaced by a kill is read whole, never served with a key of another certificate', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-serving-torn-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const ca = createCertificateAuthority('test-ca');
  const request = {
    commonName: 'system:node:node-1',
    organizations: ['system:nodes'],
    dnsNames: ['node-1'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  } as const;
  const [old, next] = [issueCertificate(ca, request), issueCertificate(ca, request)];
  const pki = join(root, 'pki');
  mkdirSync(pki);
  writeKeyPair(pki, 'kubelet-server', old);
  // a renewal killed between its two renames: the new key in place, the new certificate beside it
  writeFileSync(join(pki, 'kubelet-server.crt.new'), next.cert);
  writeFileSync(join(pki, 'kubelet-server.key.new'), next.key);
  renameSync(join(pki, 'kubelet-server.key.new'), join(pki, 'kubelet-server.key'));
  const api = new FakeCsrApi(ca);
  const served = await obtainServingCertificate({
    client: api as unknown as KubeClient,
    caPem: ca.cert,
    rootDir: root,
    identity: { nodeName: 'node-1', nodeIP: '127.0.0.1' },
    timeoutMs: 200,
    nowMs: Date.now(),
  });
  t.is(served.source, 'reused');
  t.is(served.certPem, next.cert);
  t.is(served.keyPem, next.key);
  t.is(api.csrs.size, 0, 'nothing asked for');
});
