/**
 * `bosun certs renew`: issues control-plane certificates again from the files alone, whatever their
 * age, as `kubeadm certs renew` does: the current certificates are the source of what the new ones
 * hold (the serving certificate's names and addresses), and the server address comes from
 * admin.kubeconfig. A running server notices the new files at its next check and puts them to use.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { keyPairPaths, readKeyPair } from '../../kube/key-pair-files.ts';
import { adminKubeconfigPath, ensureClusterPki, pkiDir, type ClusterPki } from './cluster-pki.ts';
import { caFile } from './control-plane-certificates.ts';
import { RenewalRefusedError } from '../errors.ts';

/** The names and addresses in a certificate's subjectAltName. */
function subjectAltNames(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san.split(', ').flatMap((entry) => {
    const match = /^(DNS|IP Address):(.+)$/.exec(entry);
    return match === null ? [] : [match[2]!];
  });
}

export function renewOnDisk(dataDir: string, names: ReadonlySet<string>, lifetimeMs?: number): ClusterPki {
  const dir = pkiDir(dataDir);
  const ca = keyPairPaths(dir, caFile);
  if (!existsSync(ca.cert))
    throw new RenewalRefusedError(
      'BOSUN_PKI_MISSING',
      `no cluster CA at ${ca.cert}: is ${dataDir} the server's data folder (bosun server --data-dir)?`,
    );
  if (!existsSync(ca.key))
    throw new RenewalRefusedError(
      'BOSUN_PKI_EXTERNAL_CA',
      `the CA's key ${ca.key} is not on this machine (an external CA): renew the certificates where it is`,
    );
  const serving = readKeyPair(dir, 'apiserver');
  const kubeconfig = adminKubeconfigPath(dataDir);
  return ensureClusterPki({
    dataDir,
    serverNames: serving === undefined ? [] : subjectAltNames(serving.cert),
    serverUrl: existsSync(kubeconfig) ? loadKubeconfig(kubeconfig).client.server : 'https://127.0.0.1:6443',
    // already among the serving certificate's addresses when there is one
    serviceIP: '127.0.0.1',
    renew: names,
    ...(lifetimeMs !== undefined ? { lifetimeMs } : {}),
  });
}
