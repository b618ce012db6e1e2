/**
 * `bosun init` (and `bosun up`) encrypt Secrets at rest by default: a 32-byte random key in an
 * EncryptionConfiguration under the config folder, readable by root only. The file is made once
 * and never rewritten (a new key would make every stored secret unreadable); an existing cluster
 * that gets it keeps reading its plain secrets through the trailing identity provider, and each
 * secret is encrypted on its next write. Rotation is the operator's, as upstream documents it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodePaths } from './node-paths.ts';

export const encryptionConfigPath = (paths: Pick<NodePaths, 'configDir'>) =>
  join(paths.configDir, 'encryption-config.yaml');

export function encryptionConfigYaml(secret: Buffer): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources:',
    '      - secrets',
    '    providers:',
    '      - aescbc:',
    '          keys:',
    '            - name: key1',
    `              secret: ${secret.toString('base64')}`,
    '      - identity: {}',
    '',
  ].join('\n');
}

/** Writes the file (0600) unless it is there; says whether it did. */
function ensureEncryptionConfig(path: string): boolean {
  try {
    writeFileSync(path, encryptionConfigYaml(randomBytes(32)), { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Whether the operator's own `bosun server` flags already name `flag`. */
export function namesFlag(serverArgs: readonly string[], flag: string): boolean {
  return serverArgs.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
}

/**
 * The operator's server flags, plus the one that turns encryption on with the machine's own file
 * (made when missing), unless they passed their own --encryption-provider-config.
 */
export function withAtRestEncryption(paths: Pick<NodePaths, 'configDir'>, serverArgs: readonly string[]): string[] {
  if (namesFlag(serverArgs, '--encryption-provider-config')) return [...serverArgs];
  mkdirSync(paths.configDir, { recursive: true, mode: 0o755 });
  const path = encryptionConfigPath(paths);
  ensureEncryptionConfig(path);
  return ['--encryption-provider-config', path, ...serverArgs];
}
