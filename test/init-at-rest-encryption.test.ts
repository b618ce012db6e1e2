/**
 * `bosun init` turns on encryption at rest: its own EncryptionConfiguration (aescbc with a fresh
 * 32-byte key, identity last so plain secrets of an older cluster stay readable), 0600, made once.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEncryptionConfig } from '../controlplane/encryption/config.ts';
import { encryptionConfigPath, withAtRestEncryption } from '../cli/init/at-rest-encryption.ts';

test('init writes a 0600 aescbc config once and passes it to the server', (t) => {
  const configDir = mkdtempSync(join(tmpdir(), 'bosun-init-enc-'));
  try {
    const path = encryptionConfigPath({ configDir });
    t.deepEqual(withAtRestEncryption({ configDir }, ['--log-level', 'debug']), ['--encryption-provider-config', path, '--log-level', 'debug']);
    t.is(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    const config = parseEncryptionConfig(text);
    t.deepEqual(config.rules[0]!.resources, ['secrets']);
    t.deepEqual(config.rules[0]!.providers.map((p) => p.kind), ['aescbc', 'identity']);
    t.is(config.rules[0]!.providers[0]!.keys[0]!.secret.length, 32);
    // a second start keeps the key: a new one would make every stored secret unreadable
    withAtRestEncryption({ configDir }, []);
    t.is(readFileSync(path, 'utf8'), text);
    // the operator's own file wins
    t.deepEqual(withAtRestEncryption({ configDir }, ['--encryption-provider-config=/etc/mine.yaml']), ['--encryption-provider-config=/etc/mine.yaml']);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
});
