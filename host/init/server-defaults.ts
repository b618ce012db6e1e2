/**
 * What `bosun init` and `bosun up` add to the server's flags unless the operator chose otherwise:
 * Secrets encrypted at rest and the audit log.
 */
import { withAtRestEncryption } from './at-rest-encryption.ts';
import { withAuditLog } from './audit-defaults.ts';
import type { NodePaths } from './node-paths.ts';

export function withServerDefaults(
  paths: Pick<NodePaths, 'configDir' | 'logDir'>,
  serverArgs: readonly string[],
): string[] {
  return withAuditLog(paths, withAtRestEncryption(paths, serverArgs));
}
