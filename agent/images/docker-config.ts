/**
 * Registry credentials out of image pull secrets, read as the kubelet reads them: a secret of type
 * `kubernetes.io/dockerconfigjson` with a non-empty `.dockerconfigjson` key (`{"auths": {registry:
 * entry}}`), or of type `kubernetes.io/dockercfg` with a non-empty `.dockercfg` key (the same map
 * without "auths"). Any other secret adds nothing.
 *
 * An entry gives a username and password; an `auth` field (base64 of "user:password") replaces
 * both. Field names match case-insensitively, as Go's JSON decoding matches them. Like the kubelet,
 * only the username and password are used; other fields of an entry (email, tokens) are not.
 *
 * Errors name the secret and what is wrong, never a byte of its content.
 */

const dockerConfigJsonType = 'kubernetes.io/dockerconfigjson';
const dockerConfigJsonKey = '.dockerconfigjson';
const dockercfgType = 'kubernetes.io/dockercfg';
const dockercfgKey = '.dockercfg';

/** What the node fetched for one name in spec.imagePullSecrets. */
export interface PullSecret {
  name: string;
  type: string | undefined;
  data: Record<string, Buffer>;
}

/** One registry entry: `registry` as written in the secret (host, host/path, or a URL). */
export interface RegistryCredential {
  registry: string;
  username: string;
  password: string;
}

export class DockerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerConfigError';
  }
}

type Any = Record<string, unknown>;

function field(entry: Any, name: string): unknown {
  if (name in entry) return entry[name];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : entry[key];
}

function text(entry: Any, name: string, where: string): string {
  const value = field(entry, name);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new DockerConfigError(`${where}: field "${name}" is not a string`);
  return value;
}

/** base64 of "user:password", padded or not; the password may itself hold ':'. */
function decodeAuthField(value: string, where: string): { username: string; password: string } {
  const trimmed = value.trim();
  if (
    !/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) ||
    (trimmed.endsWith('=') && trimmed.length % 4 !== 0) ||
    trimmed.length % 4 === 1
  ) {
    throw new DockerConfigError(`${where}: the auth field is not valid base64`);
  }
  const decoded = Buffer.from(trimmed, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1)
    throw new DockerConfigError(`${where}: unable to parse auth field, must be formatted as base64(username:password)`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function entriesOf(map: unknown, where: string): RegistryCredential[] {
  if (map === undefined || map === null) return [];
  if (typeof map !== 'object' || Array.isArray(map))
    throw new DockerConfigError(`${where}: expected an object of registries`);
  const out: RegistryCredential[] = [];
  for (const [registry, raw] of Object.entries(map as Any)) {
    const at = `${where}: registry "${registry}"`;
    if (raw === null) {
      out.push({ registry, username: '', password: '' });
      continue;
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new DockerConfigError(`${at}: expected an object`);
    const entry = raw as Any;
    const auth = text(entry, 'auth', at);
    const { username, password } =
      auth === ''
        ? { username: text(entry, 'username', at), password: text(entry, 'password', at) }
        : decodeAuthField(auth, at);
    out.push({ registry, username, password });
  }
  return out;
}

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DockerConfigError(`${where}: not valid JSON`);
  }
}

/** The credentials one secret carries, in the order they are written; [] when it is no registry secret. */
export function credentialsOfSecret(secret: PullSecret): RegistryCredential[] {
  const json = secret.data[dockerConfigJsonKey];
  if (secret.type === dockerConfigJsonType && json !== undefined && json.length > 0) {
    const where = `secret "${secret.name}" key ${dockerConfigJsonKey}`;
    const config = parseJson(json, where);
    if (config === null) return [];
    if (typeof config !== 'object' || Array.isArray(config))
      throw new DockerConfigError(`${where}: expected an object`);
    return entriesOf(field(config as Any, 'auths'), where);
  }
  const cfg = secret.data[dockercfgKey];
  if (secret.type === dockercfgType && cfg !== undefined && cfg.length > 0) {
    const where = `secret "${secret.name}" key ${dockercfgKey}`;
    return entriesOf(parseJson(cfg, where), where);
  }
  return [];
}
