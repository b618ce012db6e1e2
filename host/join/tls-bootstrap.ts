/**
 * TLS bootstrap: with the bootstrap token, ask the control plane for a client certificate for
 * system:node:<name> (signer kubernetes.io/kube-apiserver-client-kubelet), wait until it is approved
 * and issued, and hand back the certificate and its private key.
 */
import { randomBytes } from 'node:crypto';
import { kubeletUsages, nodeCertificateRequest } from '../../agent/certs/node-csr.ts';
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

export async function requestNodeCertificate(
  server: string,
  caPem: string,
  token: string,
  nodeName: string,
  timeoutMs = 60_000,
  request?: { csrPem: string; keyPem: string },
): Promise<IssuedCredentials> {
  const client = new KubeClient({ server, ca: caPem, token, timeoutMs: 10_000 });
  const { csrPem, keyPem } = request ?? (await nodeCertificateRequest(nodeName));
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
          usages: kubeletUsages(keyPem, 'client auth'),
        },
      } as never);
    } catch (err) {
      if (isApiError(err, 'Unauthorized'))
        throw new JoinError(
          'JOIN_BAD_TOKEN',
          'the server refused the token: it expired or was deleted; create a new one with bosun token create',
        );
      if (isApiError(err))
        throw new JoinError('JOIN_CSR_REFUSED', `the server refused the certificate request: ${err.message}`);
      throw err;
    }
    // Waits on a watch of this one request, as the kubelet's bootstrap does: polling it every
    // 200 ms from each of hundreds of joining nodes was a steady load on a busy server.
    const deadline = Date.now() + timeoutMs;
    const settled = (csr: CsrStatus): IssuedCredentials | undefined => {
      const denied = csr.status?.conditions?.find(
        (c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True',
      );
      if (denied)
        throw new JoinError(
          'JOIN_CSR_REFUSED',
          `the certificate request was ${denied.type.toLowerCase()}: ${denied.message ?? 'no reason given'}`,
        );
      return csr.status?.certificate
        ? { certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem }
        : undefined;
    };
    while (Date.now() < deadline) {
      const stop = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      try {
        for await (const event of client.watch(refs.certificatesigningrequests, {
          fieldSelector: `metadata.name=${name}`,
          signal: stop,
          timeoutSeconds: Math.ceil((deadline - Date.now()) / 1000),
        })) {
          const issued = settled(event.object as unknown as CsrStatus);
          if (issued) return issued;
        }
      } catch (err) {
        if (err instanceof JoinError) throw err;
        // the token expired (or was deleted) while the request waited: waiting on cannot help
        if (isApiError(err, 'Unauthorized'))
          throw new JoinError(
            'JOIN_BAD_TOKEN',
            'the server refused the token while the certificate request waited: it expired or was deleted; create a new one with bosun token create',
          );
        // the watch broke (or the deadline passed): look again, shortly
        if (!stop.aborted) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    throw new JoinError(
      'JOIN_CSR_TIMEOUT',
      `certificate request ${name} was not approved within ${timeoutMs / 1000} s: approve it with kubectl certificate approve ${name}`,
    );
  } finally {
    client.close();
  }
}
