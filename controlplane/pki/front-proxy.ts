/**
 * The front proxy's identity, as kubeadm lays it out: a CA of its own (`front-proxy-ca`), which
 * signs only the client certificate (`front-proxy-client`) the API server presents to aggregated
 * API servers when it forwards a request with the user in X-Remote-* headers. Extension servers
 * trust those headers only from a certificate of this CA with an allowed name, which they read
 * from the `extension-apiserver-authentication` ConfigMap (published by the server).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../../kube/atomic-file.ts';
import { createCertificateAuthority, issueCertificate, type KeyPair } from './certificates.ts';

export const frontProxyClientName = 'front-proxy-client';

export interface FrontProxyPki {
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

/** Reads the front proxy's CA and client certificate from the PKI folder, making what is missing. */
export function ensureFrontProxyPki(pkiFolder: string): FrontProxyPki {
  let ca = readPair(pkiFolder, 'front-proxy-ca');
  let client = readPair(pkiFolder, frontProxyClientName);
  if (ca === undefined) {
    ca = createCertificateAuthority('front-proxy-ca');
    writePair(pkiFolder, 'front-proxy-ca', ca);
    client = undefined; // signed by the old CA, if any
  }
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
