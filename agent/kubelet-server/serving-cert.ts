/**
 * The kubelet port's serving certificate, as upstream's kubelet gets it with
 * serverTLSBootstrap: a CSR (signer kubernetes.io/kubelet-serving, CN system:node:<name>,
 * O system:nodes, SANs = the node's name and InternalIP) that the control plane approves and signs.
 * The key and certificate are kept under the agent's root dir, replaced together crash-safe
 * (kube/key-pair-files.ts), and reused while they are valid for at least another day and still
 * name the same address. When no certificate can be had
 * in time, a self-signed one keeps the port up; the caller reports that as a warning, because the
 * API server (which verifies kubelets against the cluster CA) will refuse to talk to it.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../../kube/client.ts';
import { readKeyPair, writeKeyPair } from '../../kube/key-pair-files.ts';
import { requestNodeCertificate } from '../certs/node-csr.ts';
import { selfSignedCertificatePem } from '../certs/certificate-builder.ts';

interface ServingIdentity {
  nodeName: string;
  nodeIP: string;
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  /** Where it came from: issued by the cluster, reused from disk, or self-signed (a fallback). */
  source: 'issued' | 'reused' | 'self-signed';
  /** Why there is no issued one, when self-signed. */
  problem?: string;
}

const oneDayMs = 24 * 3600 * 1000;

/** `<root>/pki/kubelet-server.crt` and `.key`. */
const servingPairName = 'kubelet-server';

/** Whether a stored certificate can be served again: valid a day longer, for this node's address, from this CA. */
function reusable(certPem: string, identity: ServingIdentity, caPem: string, nowMs: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (Date.parse(cert.validTo) - nowMs < oneDayMs || Date.parse(cert.validFrom) > nowMs) return false;
    if (!cert.checkIP(identity.nodeIP) || !cert.checkHost(identity.nodeName)) return false;
    return cert.checkIssued(new X509Certificate(caPem)) && cert.verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}

/**
 * A self-signed certificate for the node's name and address (the fallback). Its key is ECDSA
 * P-256, as the node's certificate requests are: an RSA-2048 key took 0.1-0.3 s of CPU to make,
 * the largest single cost of an idle agent's first minutes (the fallback comes a minute after start
 * when no signer answers), and no client trusts this certificate whatever its key.
 */
function selfSigned(identity: ServingIdentity, nowMs: number): { certPem: string; keyPem: string } {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certPem = selfSignedCertificatePem(
    {
      commonName: `${identity.nodeName}@${Math.floor(nowMs / 1000)}`,
      notBefore: new Date(nowMs - 5 * 60 * 1000),
      notAfter: new Date(nowMs + 365 * oneDayMs),
      sans: { dns: [identity.nodeName], ips: [identity.nodeIP] },
      keyEncipherment: false,
    },
    keys,
  );
  return { certPem, keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Creates the serving CSR and waits (bounded) until it is issued; throws with one line when it is not. */
function requestServingCertificate(
  client: KubeClient,
  identity: ServingIdentity,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ certPem: string; keyPem: string }> {
  return requestNodeCertificate(
    client,
    {
      namePrefix: `csr-kubelet-serving-${identity.nodeName}`,
      nodeName: identity.nodeName,
      signerName: 'kubernetes.io/kubelet-serving',
      purpose: 'server auth',
      sans: { dns: [identity.nodeName], ips: [identity.nodeIP] },
    },
    timeoutMs,
    signal,
  );
}

/**
 * When to ask for the next certificate: a self-signed fallback soon (the signer may only have been
 * slow), an issued one at 80 % of its life, as the kubelet's certificate manager rotates (70–90 %).
 */
export function renewalDueMs(certificate: ServingCertificate, nowMs: number, retryMs: number): number {
  if (certificate.source === 'self-signed') return nowMs + retryMs;
  try {
    const cert = new X509Certificate(certificate.certPem);
    const from = Date.parse(cert.validFrom);
    return from + 0.8 * (Date.parse(cert.validTo) - from);
  } catch {
    return nowMs + retryMs;
  }
}

/** Asks for a new serving certificate and stores it with its key; throws with one line when not issued. */
export async function renewServingCertificate(options: {
  client: KubeClient;
  rootDir: string;
  identity: ServingIdentity;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<ServingCertificate> {
  const issued = await requestServingCertificate(options.client, options.identity, options.timeoutMs, options.signal);
  await mkdir(join(options.rootDir, 'pki'), { recursive: true, mode: 0o700 });
  writeKeyPair(join(options.rootDir, 'pki'), servingPairName, { cert: issued.certPem, key: issued.keyPem });
  return { ...issued, source: 'issued' };
}

/**
 * The certificate to serve: the stored one if still good, else a newly issued one (stored), else a
 * self-signed fallback (not stored, so the next start asks again).
 */
export async function obtainServingCertificate(options: {
  client: KubeClient;
  caPem: string;
  rootDir: string;
  identity: ServingIdentity;
  timeoutMs: number;
  nowMs: number;
  signal?: AbortSignal;
}): Promise<ServingCertificate> {
  let stored: { cert: string; key: string } | undefined;
  try {
    stored = readKeyPair(join(options.rootDir, 'pki'), servingPairName);
  } catch {
    // a key that belongs to no certificate here (written by an older agent, killed between the two): ask again
  }
  if (stored !== undefined && reusable(stored.cert, options.identity, options.caPem, options.nowMs))
    return { certPem: stored.cert, keyPem: stored.key, source: 'reused' };
  try {
    return await renewServingCertificate(options);
  } catch (err) {
    return { ...selfSigned(options.identity, options.nowMs), source: 'self-signed', problem: (err as Error).message };
  }
}
