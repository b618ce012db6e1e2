/**
 * What `bosun init` turns on by default: encryption at rest with its own EncryptionConfiguration
 * (aescbc with a fresh 32-byte key, identity last so plain secrets of an older cluster stay
 * readable), 0600, made once; and the audit log with a GKE-like default policy.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEncryptionConfig } from '../../../controlplane/encryption/config.ts';
import { encryptionConfigPath, withAtRestEncryption } from '../../../host/init/at-rest-encryption.ts';
import { auditLogPath, auditPolicyPath } from '../../../host/init/audit-defaults.ts';
import { withServerDefaults } from '../../../host/init/server-defaults.ts';
import { auditDecision, parseAuditPolicy, type AuditAttributes } from '../../../controlplane/audit/policy.ts';

test('init writes a 0600 aescbc config once and passes it to the server', (t) => {
  const configDir = mkdtempSync(join(tmpdir(), 'bosun-init-enc-'));
  try {
    const path = encryptionConfigPath({ configDir });
    t.deepEqual(withAtRestEncryption({ configDir }, ['--log-level', 'debug']), [
      '--encryption-provider-config',
      path,
      '--log-level',
      'debug',
    ]);
    t.is(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    const config = parseEncryptionConfig(text);
    t.deepEqual(config.rules[0]!.resources, ['secrets']);
    t.deepEqual(
      config.rules[0]!.providers.map((p) => p.kind),
      ['aescbc', 'identity'],
    );
    t.is(config.rules[0]!.providers[0]!.keys[0]!.secret.length, 32);
    // a second start keeps the key: a new one would make every stored secret unreadable
    withAtRestEncryption({ configDir }, []);
    t.is(readFileSync(path, 'utf8'), text);
    // the operator's own file wins
    t.deepEqual(withAtRestEncryption({ configDir }, ['--encryption-provider-config=/etc/mine.yaml']), [
      '--encryption-provider-config=/etc/mine.yaml',
    ]);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
});

test('init turns the audit log on with a default policy that sorts requests as intended', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-init-audit-'));
  const paths = { configDir: join(root, 'etc'), logDir: join(root, 'log') };
  try {
    const flags = withServerDefaults(paths, []);
    t.deepEqual(flags, [
      '--audit-policy-file',
      auditPolicyPath(paths),
      '--audit-log-path',
      auditLogPath(paths),
      '--audit-log-maxsize',
      '100',
      '--audit-log-maxbackup',
      '10',
      '--audit-log-maxage',
      '30',
      '--encryption-provider-config',
      encryptionConfigPath(paths),
    ]);
    const policy = parseAuditPolicy(readFileSync(auditPolicyPath(paths), 'utf8'));
    const admin = { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
    const node = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
    const ask = (
      user: AuditAttributes['user'],
      verb: string,
      group: string,
      resource: string,
      subresource = '',
    ): string =>
      auditDecision(policy, {
        user,
        verb,
        path: '/apis/x',
        resource: { group, resource, subresource, namespace: 'default', name: 'x' },
      }).level;
    t.is(auditDecision(policy, { user: admin, verb: 'get', path: '/healthz' }).level, 'None');
    t.is(ask(admin, 'create', '', 'events'), 'None');
    t.is(ask(node, 'update', 'coordination.k8s.io', 'leases'), 'None');
    t.is(ask(node, 'watch', 'discovery.k8s.io', 'endpointslices'), 'None');
    t.is(ask(admin, 'get', '', 'secrets'), 'Metadata');
    t.is(ask(admin, 'create', '', 'configmaps'), 'Metadata');
    t.is(ask(admin, 'create', '', 'serviceaccounts', 'token'), 'Metadata');
    t.is(ask(admin, 'create', 'rbac.authorization.k8s.io', 'clusterrolebindings'), 'RequestResponse');
    t.is(ask(admin, 'create', '', 'pods'), 'Request');
    t.is(ask(node, 'patch', '', 'pods', 'status'), 'Request');
    // the operator's own policy wins, and their log path is kept
    t.deepEqual(
      withServerDefaults(paths, ['--audit-policy-file', '/etc/p.yaml', '--encryption-provider-config', '/e.yaml']),
      ['--audit-policy-file', '/etc/p.yaml', '--encryption-provider-config', '/e.yaml'],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
