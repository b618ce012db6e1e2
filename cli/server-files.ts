/**
 * Files that `bosun server` flags point at, read and checked before anything starts, so that a
 * mistake ends the command with one line and exit code 2.
 */
import { readFileSync } from 'node:fs';
import type { AuditLogOptions } from '../controlplane/audit/log-writer.ts';
import { AuditPolicyError, parseAuditPolicy, type AuditPolicy } from '../controlplane/audit/policy.ts';
import {
  EncryptionConfigError,
  parseEncryptionConfig,
  type EncryptionConfig,
} from '../controlplane/encryption/config.ts';
import type { EtcdClientTls } from '../controlplane/storage/etcd.ts';
import { CliError, ExitCode } from './exit.ts';

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(
      `--${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      ExitCode.usage,
    );
  }
}

export function readEncryptionConfig(path: string): EncryptionConfig {
  const text = readFlagFile('encryption-provider-config', path).toString('utf8');
  try {
    return parseEncryptionConfig(text);
  } catch (err) {
    if (err instanceof EncryptionConfigError)
      throw new CliError(`--encryption-provider-config ${path}: ${err.message}`, ExitCode.usage);
    throw err;
  }
}

/** TLS towards etcd from the three flags; undefined when none is given. */
export function etcdClientTls(
  cafile: string | undefined,
  certfile: string | undefined,
  keyfile: string | undefined,
): EtcdClientTls | undefined {
  if (cafile === undefined && certfile === undefined && keyfile === undefined) return undefined;
  if ((certfile === undefined) !== (keyfile === undefined))
    throw new CliError('--etcd-certfile and --etcd-keyfile go together', ExitCode.usage);
  if (cafile === undefined)
    throw new CliError("--etcd-certfile needs --etcd-cafile (the CA of etcd's serving certificate)", ExitCode.usage);
  return {
    ca: readFlagFile('etcd-cafile', cafile),
    ...(certfile !== undefined ? { cert: readFlagFile('etcd-certfile', certfile) } : {}),
    ...(keyfile !== undefined ? { key: readFlagFile('etcd-keyfile', keyfile) } : {}),
  };
}

interface AuditFlags {
  'audit-policy-file': string | undefined;
  'audit-log-path': string | undefined;
  'audit-log-maxsize': number;
  'audit-log-maxbackup': number;
  'audit-log-maxage': number;
}

/**
 * The audit policy and log from their flags. As upstream: a policy without a log path, or a log
 * path without a policy, audits nothing.
 */
export function auditSettings(flags: AuditFlags): { policy: AuditPolicy; log: AuditLogOptions } | undefined {
  for (const flag of ['audit-log-maxsize', 'audit-log-maxbackup', 'audit-log-maxage'] as const) {
    const value = flags[flag];
    if (!Number.isInteger(value) || value < 0)
      throw new CliError(`--${flag} ${value}: use a whole number, 0 or more`, ExitCode.usage);
  }
  const policyFile = flags['audit-policy-file'];
  const path = flags['audit-log-path'];
  if (policyFile === undefined) return undefined;
  const text = readFlagFile('audit-policy-file', policyFile).toString('utf8');
  let policy: AuditPolicy;
  try {
    policy = parseAuditPolicy(text);
  } catch (err) {
    if (err instanceof AuditPolicyError)
      throw new CliError(`--audit-policy-file ${policyFile}: ${err.message}`, ExitCode.usage);
    throw err;
  }
  if (path === undefined || path === '') return undefined;
  return {
    policy,
    log: {
      path,
      maxSizeMB: flags['audit-log-maxsize'],
      maxBackups: flags['audit-log-maxbackup'],
      maxAgeDays: flags['audit-log-maxage'],
    },
  };
}
