/**
 * A node's certificate requests, shared by the client certificate (join and its renewals) and the
 * kubelet port's serving certificate: a new ECDSA P-256 key (as upstream kubelets make; an RSA
 * 2048 key and a forge-built request took ~74 ms here, this takes ~5 ms), a PKCS#10 request for
 * system:node:<name> in system:nodes (with the serving names and addresses as SANs when given), a
 * CertificateSigningRequest for a signer, and a bounded wait until the control plane issues it.
 */
import { createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { KubeClient } from '../../kube/client.ts';
import type { ResourceRef } from '../../kube/resource-ref.ts';
import { certificateRequestPem, type SubjectAltNames } from './certificate-builder.ts';

const csrRef: ResourceRef = {
  group: 'certificates.k8s.io',
  version: 'v1',
  resource: 'certificatesigningrequests',
  namespaced: false,
};

/** A new key and a PKCS#10 request for system:node:<nodeName> (O system:nodes), with SANs when given. */
export async function nodeCertificateRequest(
  nodeName: string,
  sans?: SubjectAltNames,
): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  return {
    csrPem: certificateRequestPem(
      [
        ['O', 'system:nodes'],
        ['CN', `system:node:${nodeName}`],
      ],
      sans,
      keys,
    ),
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * The usages a kubelet asks for with a key: key encipherment only for an RSA key (an ECDSA key
 * cannot encipher), as upstream's kubelet does and as the kubelet signers accept.
 */
export function kubeletUsages(keyPem: string, purpose: 'client auth' | 'server auth'): string[] {
  const rsa = createPrivateKey(keyPem).asymmetricKeyType === 'rsa';
  return ['digital signature', ...(rsa ? ['key encipherment'] : []), purpose];
}

interface NodeCertificateAsk {
  /** The CSR's name is this prefix plus a random suffix. */
  namePrefix: string;
  nodeName: string;
  signerName: string;
  purpose: 'client auth' | 'server auth';
  sans?: SubjectAltNames;
}

interface CsrStatus {
  status?: { certificate?: string; conditions?: { type: string; status: string; message?: string }[] };
}

/** Creates the CSR and waits (bounded) until it is issued; throws with one line when it is refused or late. */
export async function requestNodeCertificate(
  client: KubeClient,
  ask: NodeCertificateAsk,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ certPem: string; keyPem: string }> {
  const { csrPem, keyPem } = await nodeCertificateRequest(ask.nodeName, ask.sans);
  const name = `${ask.namePrefix}-${randomBytes(4).toString('hex')}`;
  await client.create(csrRef, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(csrPem).toString('base64'),
      signerName: ask.signerName,
      usages: kubeletUsages(keyPem, ask.purpose),
    },
  } as never);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const csr = (await client.get(csrRef, name)) as unknown as CsrStatus;
    const refused = csr.status?.conditions?.find(
      (c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True',
    );
    if (refused)
      throw new Error(
        `certificate request ${name} was ${refused.type.toLowerCase()}: ${refused.message ?? 'no reason given'}`,
      );
    if (csr.status?.certificate)
      return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
    if (Date.now() > deadline || signal?.aborted)
      throw new Error(
        `certificate request ${name} was not issued within ${Math.round(timeoutMs / 1000)} s; approve it with kubectl certificate approve ${name}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
