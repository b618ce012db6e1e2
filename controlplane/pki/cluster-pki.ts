/**
 * The server's files under <data-dir>/pki, created on first start and kept current after: the
 * cluster CA, the API server's serving certificate, the admin client certificate, the
 * kubelet-client certificate, the service-account signing key; and <data-dir>/admin.kubeconfig for
 * kubectl. Each call observes the files, plans what to issue again (reissue-plan.ts: missing, a
 * third of life left, another CA, new names, or asked for) and writes those pairs the crash-safe
 * way (kube/key-pair-files.ts), so the same call serves the first start, every later start, the
 * server's renewal loop and `bosun certs renew`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../../kube/atomic-file.ts';
import { readKeyPair, writeKeyPair } from '../../kube/key-pair-files.ts';
import { createCertificateAuthority, issueCertificate, type KeyPair } from './certificates.ts';
import { caFile, controlPlaneCertificates } from './control-plane-certificates.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { planReissue, type Reissue } from './reissue-plan.ts';

export interface ClusterPki {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
  readonly admin: KeyPair;
  /** PEM private key that signs service-account tokens. */
  readonly serviceAccountKey: string;
  /** The server's client certificate towards the agents' kubelet port (logs, exec, port-forward). */
  readonly kubeletClient: KeyPair;
  readonly kubeconfigPath: string;
  /** What this call issued again, and why. */
  readonly reissued: readonly Reissue[];
}

export interface PkiOptions {
  readonly dataDir: string;
  /** Names and addresses the serving certificate must be valid for (besides the built-in ones). */
  readonly serverNames: readonly string[];
  /** URL written into admin.kubeconfig. */
  readonly serverUrl: string;
  /** First address of the service CIDR: the `kubernetes` service's ClusterIP. */
  readonly serviceIP: string;
  /** Lifetime of the certificates issued here, in ms (default one year, as kubeadm's). */
  readonly lifetimeMs?: number;
  /** The time renewal is judged at (default now). */
  readonly now?: number;
  /** Certificates to issue again whatever their age (`bosun certs renew`), by name. */
  readonly renew?: ReadonlySet<string>;
  /** Copies of admin.kubeconfig kept the same (bosun init's in the config folder), where their folder exists. */
  readonly kubeconfigCopies?: readonly string[];
}

export const pkiDir = (dataDir: string) => join(dataDir, 'pki');
export const adminKubeconfigPath = (dataDir: string) => join(dataDir, 'admin.kubeconfig');

/** Every name and address the serving certificate holds. */
function servingNames(options: Pick<PkiOptions, 'serverNames' | 'serviceIP'>): string[] {
  return [
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
}

/** Writes `path` only when its content changes (atomically, 0600): every call of ensureClusterPki would otherwise rewrite it. */
function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileAtomically(path, text, 0o600);
}

export function ensureClusterPki(options: PkiOptions): ClusterPki {
  const dir = pkiDir(options.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = readKeyPair(dir, caFile) ?? writeKeyPair(dir, caFile, createCertificateAuthority('bosun-ca'));
  const names = servingNames(options);
  // observe, plan, then issue what the plan names
  const current = new Map(controlPlaneCertificates.map((c) => [c.name, readKeyPair(dir, c.file)]));
  const observed = controlPlaneCertificates.map((c) => ({
    name: c.name,
    cert: current.get(c.name)?.cert,
    ...(c.file === 'apiserver' ? { requiredNames: names } : {}),
  }));
  const reissued = planReissue(observed, ca.cert, options.now ?? Date.now(), options.renew);
  for (const { name } of reissued) {
    const spec = controlPlaneCertificates.find((c) => c.name === name)!;
    const lifetime = options.lifetimeMs !== undefined ? { lifetimeMs: options.lifetimeMs } : {};
    current.set(name, writeKeyPair(dir, spec.file, issueCertificate(ca, { ...spec.request(names), ...lifetime })));
  }
  const pair = (file: string) => current.get(controlPlaneCertificates.find((c) => c.file === file)!.name)!;
  const admin = pair('admin');
  const saKeyPath = join(dir, 'sa.key');
  if (!existsSync(saKeyPath)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileAtomically(saKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  }
  const kubeconfigPath = adminKubeconfigPath(options.dataDir);
  const kubeconfig = kubeconfigYaml({
    cluster: 'bosun',
    server: options.serverUrl,
    caPem: ca.cert,
    user: 'kubernetes-admin',
    clientCertPem: admin.cert,
    clientKeyPem: admin.key,
  });
  writeIfChanged(kubeconfigPath, kubeconfig);
  for (const copy of options.kubeconfigCopies ?? []) if (existsSync(dirname(copy))) writeIfChanged(copy, kubeconfig);
  return {
    ca,
    serving: pair('apiserver'),
    admin,
    kubeletClient: pair('apiserver-kubelet-client'),
    serviceAccountKey: readFileSync(saKeyPath, 'utf8'),
    kubeconfigPath,
    reissued,
  };
}
