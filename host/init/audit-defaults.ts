/**
 * `bosun init` (and `bosun up`) turn the audit log on: a default policy in the config folder
 * (written once; the operator may edit it) and the log under the log folder, rotated at 100 MB,
 * 10 backups, 30 days. The policy follows upstream's GKE-like example: nothing for health checks,
 * events and the nodes' own heartbeats and endpoint watches; Metadata for Secrets, ConfigMaps and
 * token reviews; RequestResponse for RBAC changes; Request for the rest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { namesFlag } from './at-rest-encryption.ts';
import type { NodePaths } from './node-paths.ts';

export const auditPolicyPath = (paths: Pick<NodePaths, 'configDir'>) => join(paths.configDir, 'audit-policy.yaml');
export const auditLogPath = (paths: Pick<NodePaths, 'logDir'>) => join(paths.logDir, 'audit.log');

const defaultAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
# Every request is logged once, when its response is complete (watches also when they start).
omitStages: [RequestReceived]
omitManagedFields: true
rules:
  # Health checks, version and metrics scrapes: noise.
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"]
  # Events are an audit trail of their own.
  - level: None
    resources:
      - group: ""
        resources: [events]
      - group: events.k8s.io
        resources: [events]
  # Nodes' heartbeats and their watches of services and endpoints.
  - level: None
    userGroups: ["system:nodes"]
    verbs: [get, list, watch, update, patch]
    resources:
      - group: coordination.k8s.io
        resources: [leases]
      - group: ""
        resources: [endpoints, services, services/status, nodes/status]
      - group: discovery.k8s.io
        resources: [endpointslices]
  # Credentials and configuration: who touched what, never the content (bosun caps Secrets,
  # TokenRequests and TokenReviews at Metadata whatever this file says).
  - level: Metadata
    resources:
      - group: ""
        resources: [secrets, configmaps, serviceaccounts/token]
      - group: authentication.k8s.io
        resources: [tokenreviews]
  # Who may do what: every change in full.
  - level: RequestResponse
    verbs: [create, update, patch, delete, deletecollection]
    resources:
      - group: rbac.authorization.k8s.io
  # Everything else: who asked, and what they sent.
  - level: Request
`;

/** The operator's server flags, plus the audit log with the machine's default policy (made when missing). */
export function withAuditLog(paths: Pick<NodePaths, 'configDir' | 'logDir'>, serverArgs: readonly string[]): string[] {
  if (namesFlag(serverArgs, '--audit-policy-file')) return [...serverArgs];
  mkdirSync(paths.configDir, { recursive: true, mode: 0o755 });
  const policy = auditPolicyPath(paths);
  try {
    writeFileSync(policy, defaultAuditPolicy, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const log = namesFlag(serverArgs, '--audit-log-path')
    ? []
    : [
        '--audit-log-path',
        auditLogPath(paths),
        '--audit-log-maxsize',
        '100',
        '--audit-log-maxbackup',
        '10',
        '--audit-log-maxage',
        '30',
      ];
  return ['--audit-policy-file', policy, ...log, ...serverArgs];
}
