/**
 * Reads upstream's `apiserver.config.k8s.io/v1` EncryptionConfiguration (the file behind
 * `--encryption-provider-config`) into a checked, typed plan: for each listed resource, the
 * providers in order. The first provider writes; every provider may read (chosen by prefix).
 *
 * Supported providers: `aescbc`, `aesgcm` and `identity`. `secretbox` (XSalsa20-Poly1305) needs a
 * cipher Node does not ship and `kms` needs a plugin socket; both are refused by name instead of
 * being half-supported. Upstream does not check the file's mode, and neither does bosun (`bosun
 * init` writes it 0600).
 */
import { loadConfigDocument } from '../config-document.ts';

type ProviderKind = 'aescbc' | 'aesgcm' | 'identity';

export interface ProviderKey {
  readonly name: string;
  readonly secret: Buffer;
}

export interface ProviderConfig {
  readonly kind: ProviderKind;
  /** Empty for identity; the first key writes, every key reads. */
  readonly keys: readonly ProviderKey[];
}

interface ResourceEncryption {
  /** As written: `secrets`, `deployments.apps`, `*.apps`, `*.` (the core group) or `*.*`. */
  readonly resources: readonly string[];
  readonly providers: readonly ProviderConfig[];
}

export interface EncryptionConfig {
  readonly rules: readonly ResourceEncryption[];
}

/** A configuration mistake, said in one line (the server exits 2 with it). */
export class EncryptionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionConfigError';
  }
}

/** AES-128, -192 and -256, as upstream's validation accepts for both AES providers. */
const aesKeySizes = [16, 24, 32];
const unsupported = new Set(['secretbox', 'kms']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseKey(raw: unknown, path: string): ProviderKey {
  if (!isRecord(raw))
    throw new EncryptionConfigError(`${path}: Invalid value: a key must be an object with name and secret`);
  const name = raw['name'];
  if (typeof name !== 'string' || name === '')
    throw new EncryptionConfigError(`${path}.name: Required value: key name is required`);
  if (name.includes(':'))
    throw new EncryptionConfigError(`${path}.name: Invalid value: "${name}": key name must not contain ":"`);
  const secret = raw['secret'];
  if (typeof secret !== 'string' || secret === '')
    throw new EncryptionConfigError(`${path}.secret: Required value: secret is required`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    throw new EncryptionConfigError(`${path}.secret: Invalid value: "REDACTED": secrets must be base64 encoded`);
  }
  const bytes = Buffer.from(secret, 'base64');
  if (!aesKeySizes.includes(bytes.length)) {
    throw new EncryptionConfigError(
      `${path}.secret: Invalid value: "REDACTED": secret is not of the expected length, got ${bytes.length}, expected one of [${aesKeySizes.join(' ')}]`,
    );
  }
  return { name, secret: bytes };
}

function parseProvider(raw: unknown, path: string): ProviderConfig {
  if (!isRecord(raw)) throw new EncryptionConfigError(`${path}: Invalid value: a provider must be an object`);
  const kinds = Object.keys(raw);
  if (kinds.length !== 1) {
    throw new EncryptionConfigError(
      `${path}: Invalid value: provider must contain exactly one of aescbc, aesgcm, identity (found ${kinds.length === 0 ? 'none' : kinds.join(', ')})`,
    );
  }
  const kind = kinds[0]!;
  if (unsupported.has(kind)) {
    throw new EncryptionConfigError(
      `${path}.${kind}: Unsupported value: "${kind}": bosun supports the providers aescbc, aesgcm and identity`,
    );
  }
  if (kind === 'identity') return { kind, keys: [] };
  if (kind !== 'aescbc' && kind !== 'aesgcm') {
    throw new EncryptionConfigError(
      `${path}: Unsupported value: "${kind}": supported values: "aescbc", "aesgcm", "identity"`,
    );
  }
  const body = raw[kind];
  const keys = isRecord(body) ? body['keys'] : undefined;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new EncryptionConfigError(`${path}.${kind}.keys: Required value: at least one key must be provided`);
  const parsed = keys.map((key, i) => parseKey(key, `${path}.${kind}.keys[${i}]`));
  const names = new Set<string>();
  parsed.forEach((key, i) => {
    if (names.has(key.name))
      throw new EncryptionConfigError(`${path}.${kind}.keys[${i}].name: Duplicate value: "${key.name}"`);
    names.add(key.name);
  });
  return { kind, keys: parsed };
}

function parseResourceName(raw: unknown, path: string): string {
  if (typeof raw !== 'string' || raw === '')
    throw new EncryptionConfigError(`${path}: Required value: resource name is required`);
  if (raw === '*') {
    throw new EncryptionConfigError(
      `${path}: Invalid value: "*": use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources`,
    );
  }
  if (raw !== raw.toLowerCase())
    throw new EncryptionConfigError(`${path}: Invalid value: "${raw}": resource name must be lower case`);
  return raw;
}

function parseRule(raw: unknown, path: string): ResourceEncryption {
  if (!isRecord(raw))
    throw new EncryptionConfigError(`${path}: Invalid value: each entry needs resources and providers`);
  const resources = raw['resources'];
  if (!Array.isArray(resources) || resources.length === 0)
    throw new EncryptionConfigError(`${path}.resources: Required value: resources is a required field`);
  const providers = raw['providers'];
  if (!Array.isArray(providers) || providers.length === 0)
    throw new EncryptionConfigError(`${path}.providers: Required value: providers is a required field`);
  return {
    resources: resources.map((name, i) => parseResourceName(name, `${path}.resources[${i}]`)),
    providers: providers.map((provider, i) => parseProvider(provider, `${path}.providers[${i}]`)),
  };
}

/** Checks a parsed document; throws EncryptionConfigError with a field path on the first mistake. */
function encryptionConfigFrom(document: unknown): EncryptionConfig {
  if (!isRecord(document)) throw new EncryptionConfigError('the file is not an EncryptionConfiguration object');
  if (document['kind'] !== 'EncryptionConfiguration' || document['apiVersion'] !== 'apiserver.config.k8s.io/v1') {
    throw new EncryptionConfigError(
      `got kind "${String(document['kind'])}" apiVersion "${String(document['apiVersion'])}", want kind "EncryptionConfiguration" apiVersion "apiserver.config.k8s.io/v1"`,
    );
  }
  const resources = document['resources'];
  if (!Array.isArray(resources) || resources.length === 0)
    throw new EncryptionConfigError('resources: Required value: resources is a required field');
  return { rules: resources.map((rule, i) => parseRule(rule, `resources[${i}]`)) };
}

/** Parses the file's text (YAML or JSON). */
export function parseEncryptionConfig(text: string): EncryptionConfig {
  return encryptionConfigFrom(loadConfigDocument(text, (message) => new EncryptionConfigError(message)));
}
