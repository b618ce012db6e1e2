/**
 * `bosun server join`, the part after discovery (the CA is verified by then, discovery.ts): read
 * kube-system/bosun-certs with the control-plane join token over TLS that checks that CA, open it
 * with the certificate key, and lay the shared files out where `bosun server` reads them: the CA,
 * the service-account key and the front proxy's CA under <data-dir>/pki (the server issues its own
 * serving, admin and kubelet-client certificates from that CA on its first start, with its own
 * names), the EncryptionConfiguration in the config folder.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../../kube/atomic-file.ts';
import { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { refs } from '../../kube/resource-ref.ts';
import { encryptionConfigPath } from '../init/at-rest-encryption.ts';
import { controlPlaneCertsSecretName, openSecretData, type SharedFile } from '../init/control-plane-material.ts';
import { serverDataDir, type NodePaths } from '../init/node-paths.ts';
import { JoinError } from './errors.ts';

const uploadHint = 'on a server, run bosun token create --control-plane --print-join-command';

/** The shared files, opened; every refusal is a JoinError that says what to do. */
export async function fetchControlPlaneMaterial(
  server: string,
  caPem: string,
  token: string,
  certificateKey: Buffer,
): Promise<Partial<Record<SharedFile, string>>> {
  const client = new KubeClient({ server, ca: caPem, token, timeoutMs: 10_000 });
  let secret: { data?: Record<string, string> };
  try {
    secret = (await client.get(refs.secrets, controlPlaneCertsSecretName, 'kube-system')) as {
      data?: Record<string, string>;
    };
  } catch (err) {
    if (isApiError(err, 'Unauthorized'))
      throw new JoinError('JOIN_BAD_TOKEN', `the server refused the token (expired or deleted): ${uploadHint}`);
    if (isApiError(err, 'Forbidden'))
      throw new JoinError(
        'JOIN_BAD_TOKEN',
        `this token may not read the control-plane material (a worker's join token?): ${uploadHint}`,
      );
    if (isApiError(err, 'NotFound'))
      throw new JoinError(
        'JOIN_NO_CONTROL_PLANE_MATERIAL',
        `no control-plane material is uploaded (an upload is removed after two hours): ${uploadHint}`,
      );
    if (isApiError(err)) throw new JoinError('JOIN_NO_CONTROL_PLANE_MATERIAL', `reading it: ${err.message}`);
    throw err;
  } finally {
    client.close();
  }
  const opened = openSecretData(certificateKey, secret.data);
  if (!opened.ok) {
    throw opened.reason === 'wrong-key'
      ? new JoinError(
          'JOIN_BAD_CERTIFICATE_KEY',
          `the certificate key does not open ${opened.detail} (a key of another upload?): check --certificate-key, or ${uploadHint}`,
        )
      : new JoinError('JOIN_NO_CONTROL_PLANE_MATERIAL', `the upload lacks ${opened.detail}: ${uploadHint}`);
  }
  return opened.files;
}

interface LaidOut {
  /** Where the EncryptionConfiguration went, when the cluster has one. */
  encryptionConfigPath: string | undefined;
}

/**
 * Writes the files (keys 0600). A data folder that already holds another cluster's CA is refused:
 * overwriting it would orphan every certificate that CA issued.
 */
export function layOutControlPlaneMaterial(paths: NodePaths, files: Partial<Record<SharedFile, string>>): LaidOut {
  const pki = join(serverDataDir(paths), 'pki');
  const caPath = join(pki, 'ca.crt');
  if (existsSync(caPath) && readFileSync(caPath, 'utf8') !== files['ca.crt'])
    throw new JoinError(
      'JOIN_ALREADY_JOINED',
      `${caPath} is another cluster's CA: this machine already runs a server (bosun reset first, or another --data-dir)`,
    );
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  for (const name of ['ca.key', 'sa.key', 'front-proxy-ca.key', 'front-proxy-ca.crt', 'ca.crt'] as const) {
    const text = files[name];
    if (text !== undefined) writeFileDurably(join(pki, name), text, name.endsWith('.key') ? 0o600 : 0o644);
  }
  const encryption = files['encryption-config.yaml'];
  if (encryption === undefined) return { encryptionConfigPath: undefined };
  mkdirSync(paths.configDir, { recursive: true, mode: 0o755 });
  const path = encryptionConfigPath(paths);
  writeFileDurably(path, encryption, 0o600);
  return { encryptionConfigPath: path };
}
