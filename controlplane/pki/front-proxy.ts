/**
 * The front proxy's identity, as kubeadm lays it out: a CA of its own (`front-proxy-ca`), which
 * signs only the client certificate (`front-proxy-client`) the API server presents to aggregated
 * API servers when it forwards a request with the user in X-Remote-* headers. Extension servers
 * trust those headers only from a certificate of this CA with an allowed name, which they read
 * from the `extension-apiserver-authentication` ConfigMap (published by the server).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../../kube/atomic-file.ts';
import { createCertificateAuthority, issueCertificate, type KeyPair } from './certificates.ts';

const frontProxyClientName = 'front-proxy-client';

interface FrontProxyPki {
  readonly ca: KeyPair;
  readonly client: KeyPair;
}

function readPair(dir: string, name: string): KeyPair | undefined {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

function writePair(dir: string, name: string, pair: KeyPair): void {
  writeFileDurably(join(dir, `${name}.key`), pair.key, 0o600);
  writeFileDurably(join(dir, `${name}.crt`), pair.cert, 0o644);
}

/**
 * Whether the client certificate must be issued again: not signed by the CA (the CA was replaced),
 * or with less than a third of its life left (the rule the other leaves follow, renewal-loop.ts).
 */
function clientNeedsReissue(client: KeyPair, ca: KeyPair, now = Date.now()): boolean {
  const certificate = new X509Certificate(client.cert);
  if (!certificate.checkIssued(new X509Certificate(ca.cert))) return true;
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  return to - now < (to - from) / 3;
}

/**
 * Reads the front proxy's CA and client certificate from the PKI folder, making what is missing
 * and issuing the client certificate again when it is due (checked at each start).
 */
export function ensureFrontProxyPki(pkiFolder: string, now = Date.now()): FrontProxyPki {
  let ca = readPair(pkiFolder, 'front-proxy-ca');
  if (ca === undefined) {
    ca = createCertificateAuthority('front-proxy-ca');
    writePair(pkiFolder, 'front-proxy-ca', ca);
  }
  let client = readPair(pkiFolder, frontProxyClientName);
  if (client !== undefined && clientNeedsReissue(client, ca, now)) client = undefined;
  if (client === undefined) {
    client = issueCertificate(ca, { commonName: frontProxyClientName, usage: 'client' });
    writePair(pkiFolder, frontProxyClientName, client);
  }
  return { ca, client };
}

/** The ConfigMap kube-system/extension-apiserver-authentication: how extension servers authenticate callers. */
export function extensionAuthenticationConfigMap(clusterCa: string, frontProxyCa: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system' },
    data: {
      'client-ca-file': clusterCa,
      'requestheader-allowed-names': JSON.stringify([frontProxyClientName]),
      'requestheader-client-ca-file': frontProxyCa,
      'requestheader-extra-headers-prefix': JSON.stringify(['X-Remote-Extra-']),
      'requestheader-group-headers': JSON.stringify(['X-Remote-Group']),
      'requestheader-username-headers': JSON.stringify(['X-Remote-User']),
    },
  };
}
