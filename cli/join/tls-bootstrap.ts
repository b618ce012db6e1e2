/**
 * TLS bootstrap: with the bootstrap token, ask the control plane for a client certificate for
 * system:node:<name> (signer kubernetes.io/kube-apiserver-client-kubelet), wait until it is approved
 * and issued, and hand back the certificate and its private key.
 */
import { randomBytes } from 'node:crypto';
import { nodeClientRequest } from '../../agent/certs/client-cert-rotation.ts';
import { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import { isApiError } from '../../kube/errors.ts';
import { JoinError } from './errors.ts';

export interface IssuedCredentials {
  certPem: string;
  keyPem: string;
}

interface CsrStatus {
  status?: { certificate?: string; conditions?: { type: string; status: string; message?: string }[] };
}

export { nodeClientRequest } from '../../agent/certs/client-cert-rotation.ts';

export async function requestNodeCertificate(
  server: string, caPem: string, token: string, nodeName: string, timeoutMs = 60_000,
  request: { csrPem: string; keyPem: string } = nodeClientRequest(nodeName),
): Promise<IssuedCredentials> {
  const client = new KubeClient({ server, ca: caPem, token, timeoutMs: 10_000 });
  const { csrPem, keyPem } = request;
  const name = `node-csr-${nodeName}-${randomBytes(4).toString('hex')}`;
  try {
    try {
      await client.create(refs.certificatesigningrequests, {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
          usages: ['digital signature', 'key encipherment', 'client auth'],
        },
      } as never);
    } catch (err) {
      if (isApiError(err, 'Unauthorized')) throw new JoinError('JOIN_BAD_TOKEN', 'the server refused the token: it expired or was deleted; create a new one with bosun token create');
      if (isApiError(err)) throw new JoinError('JOIN_CSR_REFUSED', `the server refused the certificate request: ${err.message}`);
      throw err;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const csr = await client.get(refs.certificatesigningrequests, name) as unknown as CsrStatus;
      const denied = csr.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
      if (denied) throw new JoinError('JOIN_CSR_REFUSED', `the certificate request was ${denied.type.toLowerCase()}: ${denied.message ?? 'no reason given'}`);
      if (csr.status?.certificate) {
        return { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
      }
      if (Date.now() > deadline) {
        throw new JoinError('JOIN_CSR_TIMEOUT', `certificate request ${name} was not approved within ${timeoutMs / 1000} s: approve it with kubectl certificate approve ${name}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.close();
  }
}
