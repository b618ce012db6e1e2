/**
 * The server's files under <data-dir>/pki, created on first start and reused after: the cluster CA,
 * the API server's serving certificate, the admin client certificate, the service-account signing
 * key; and <data-dir>/admin.kubeconfig for kubectl.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type KeyPair } from './certificates.ts';
import { kubeconfigYaml } from './kubeconfig.ts';

export interface ClusterPki {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
  readonly admin: KeyPair;
  /** PEM private key that signs service-account tokens. */
  readonly serviceAccountKey: string;
  /** The server's client certificate towards the agents' kubelet port (logs, exec, port-forward). */
  readonly kubeletClient: KeyPair;
  readonly kubeconfigPath: string;
}

export interface PkiOptions {
  readonly dataDir: string;
  /** Names and addresses the serving certificate must be valid for (besides the built-in ones). */
  readonly serverNames: readonly string[];
  /** URL written into admin.kubeconfig. */
  readonly serverUrl: string;
  /** First address of the service CIDR: the `kubernetes` service's ClusterIP. */
  readonly serviceIP: string;
}

function readPair(dir: string, name: string): KeyPair | undefined {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

function writePair(dir: string, name: string, pair: KeyPair): KeyPair {
  writeFileSync(join(dir, `${name}.crt`), pair.cert, { mode: 0o644 });
  writeFileSync(join(dir, `${name}.key`), pair.key, { mode: 0o600 });
  return pair;
}

/** Whether an existing serving certificate covers every name we need now. */
function coversNames(pair: KeyPair, names: readonly string[]): boolean {
  const x509 = new X509Certificate(pair.cert);
  const san = x509.subjectAltName ?? '';
  return names.every((n) => (isIP(n) ? san.includes(`IP Address:${n}`) : san.includes(`DNS:${n}`))) && Date.parse(x509.validTo) > Date.now() + 24 * 3600 * 1000;
}

export function ensureClusterPki(options: PkiOptions): ClusterPki {
  const dir = join(options.dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = readPair(dir, 'ca') ?? writePair(dir, 'ca', createCertificateAuthority('bosun-ca'));
  const names = [
    ...new Set([
      'localhost',
      '127.0.0.1',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      options.serviceIP,
      ...options.serverNames,
    ]),
  ];
  let serving = readPair(dir, 'apiserver');
  if (serving === undefined || !coversNames(serving, names)) {
    serving = writePair(
      dir,
      'apiserver',
      issueCertificate(ca, {
        commonName: 'kube-apiserver',
        dnsNames: names.filter((n) => !isIP(n)),
        ipAddresses: names.filter((n) => isIP(n)),
        usage: 'server',
      }),
    );
  }
  const admin = readPair(dir, 'admin') ?? writePair(dir, 'admin', issueCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' }));
  const kubeletClient =
    readPair(dir, 'apiserver-kubelet-client') ??
    writePair(dir, 'apiserver-kubelet-client', issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client' }));
  const saKeyPath = join(dir, 'sa.key');
  if (!existsSync(saKeyPath)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  }
  const kubeconfigPath = join(options.dataDir, 'admin.kubeconfig');
  writeFileSync(
    kubeconfigPath,
    kubeconfigYaml({ cluster: 'bosun', server: options.serverUrl, caPem: ca.cert, user: 'kubernetes-admin', clientCertPem: admin.cert, clientKeyPem: admin.key }),
    { mode: 0o600 },
  );
  return { ca, serving, admin, kubeletClient, serviceAccountKey: readFileSync(saKeyPath, 'utf8'), kubeconfigPath };
}
