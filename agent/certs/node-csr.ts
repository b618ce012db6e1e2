/**
 * A node's certificate requests, shared by the client certificate (join and its renewals) and the
 * kubelet port's serving certificate: a new RSA key, a PKCS#10 request for system:node:<name> in
 * system:nodes (with the serving names and addresses as SANs when given), a
 * CertificateSigningRequest for a signer, and a bounded wait until the control plane issues it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { KubeClient } from '../../kube/client.ts';
import type { ResourceRef } from '../../kube/resource-ref.ts';

const csrRef: ResourceRef = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', namespaced: false };

export interface SubjectAltNames {
  dns: readonly string[];
  ips: readonly string[];
}

/** A new key and a PKCS#10 request for system:node:<nodeName> (O system:nodes), with SANs when given. */
export function nodeCertificateRequest(nodeName: string, sans?: SubjectAltNames): { csrPem: string; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([
    { name: 'organizationName', value: 'system:nodes' },
    { name: 'commonName', value: `system:node:${nodeName}` },
  ]);
  if (sans !== undefined) {
    const altNames = [...sans.dns.map((value) => ({ type: 2, value })), ...sans.ips.map((ip) => ({ type: 7, ip }))];
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  }
  csr.sign(key, forge.md.sha256.create());
  return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem };
}

export interface NodeCertificateAsk {
  /** The CSR's name is this prefix plus a random suffix. */
  namePrefix: string;
  nodeName: string;
  signerName: string;
  usages: readonly string[];
  sans?: SubjectAltNames;
}

interface CsrStatus {
  status?: { certificate?: string; conditions?: { type: string; status: string; message?: string }[] };
}

/** Creates the CSR and waits (bounded) until it is issued; throws with one line when it is refused or late. */
export async function requestNodeCertificate(client: KubeClient, ask: NodeCertificateAsk, timeoutMs: number, signal?: AbortSignal): Promise<{ certPem: string; keyPem: string }> {
  const { csrPem, keyPem } = nodeCertificateRequest(ask.nodeName, ask.sans);
  const name = `${ask.namePrefix}-${randomBytes(4).toString('hex')}`;
  await client.create(csrRef, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: ask.signerName, usages: [...ask.usages] },
  } as never);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const csr = await client.get(csrRef, name) as unknown as CsrStatus;
    const refused = csr.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (refused) throw new Error(`certificate request ${name} was ${refused.type.toLowerCase()}: ${refused.message ?? 'no reason given'}`);
    if (csr.status?.certificate) return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
    if (Date.now() > deadline || signal?.aborted) throw new Error(`certificate request ${name} was not issued within ${Math.round(timeoutMs / 1000)} s; approve it with kubectl certificate approve ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
