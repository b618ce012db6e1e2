/**
 * Which registry credentials apply to an image, matched as the kubelet's credential keyring
 * matches them:
 *   - an entry's key is its registry with any scheme dropped and a leading /v1/ or /v2/ path
 *     reduced to the host ('https://index.docker.io/v1/' -> 'index.docker.io');
 *   - a key matches a repository when the ports are equal, the host names have as many labels,
 *     each label matches as a glob ('*.example.com' matches 'eu.example.com', not
 *     'a.eu.example.com'), and the key's path is a prefix of the repository's path;
 *   - keys are tried most specific first (reverse lexical order, so 'quay.io/team' before
 *     'quay.io'), and every credential of every matching key is returned, in that order;
 *   - with no match, a Docker Hub repository ('docker.io/...') gets the credentials kept under
 *     'index.docker.io', the name Docker's own tools write for the Hub.
 * An empty answer means: pull anonymously.
 */
import type { RegistryCredential } from './docker-config.ts';

interface Credential {
  username: string;
  password: string;
}

interface Keyring {
  /** Keys, most specific first. */
  readonly keys: readonly string[];
  readonly credentials: ReadonlyMap<string, readonly Credential[]>;
}

const dockerHubKey = 'index.docker.io';

interface Location {
  labels: string[];
  port: string;
  path: string;
}

/**
 * host[:port][/path] of a schemeless location, split as Go's URL parser splits it (the host name
 * kept as written, no case folding); undefined when it is no location (an empty host, a port
 * that is not a number).
 */
function locate(schemeless: string): Location | undefined {
  const end = schemeless.search(/[?#]/);
  const location = end === -1 ? schemeless : schemeless.slice(0, end);
  const slash = location.indexOf('/');
  const authority = slash === -1 ? location : location.slice(0, slash);
  const path = slash === -1 ? '' : location.slice(slash);
  if (authority === '' || authority.includes('@')) return undefined;
  const colons = authority.split(':').length - 1;
  let host = authority;
  let port = '';
  if (colons === 1) {
    [host, port] = authority.split(':') as [string, string];
    if (!/^\d*$/.test(port)) return undefined;
  }
  return { labels: host.split('.'), port, path };
}

export function keyOf(registry: string): string | undefined {
  const schemeless = registry.replace(/^https?:\/\//, '');
  const slash = schemeless.indexOf('/');
  const host = slash === -1 ? schemeless : schemeless.slice(0, slash);
  let path = slash === -1 ? '' : schemeless.slice(slash);
  if (path.startsWith('/v1/') || path.startsWith('/v2/')) path = path.slice(3);
  if (host === '' || locate(host) === undefined) return undefined;
  return path === '' || path === '/' ? host : `${host}${path}`;
}

export function buildKeyring(entries: readonly RegistryCredential[]): Keyring {
  const credentials = new Map<string, Credential[]>();
  for (const entry of entries) {
    const key = keyOf(entry.registry);
    if (key === undefined) continue;
    const list = credentials.get(key) ?? [];
    list.push({ username: entry.username, password: entry.password });
    credentials.set(key, list);
  }
  const keys = [...credentials.keys()].sort().reverse();
  return { keys, credentials };
}

const literal = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A label glob as Go's path.Match reads one: '*' and '?' within the label, '[...]' classes. */
function globToRegExp(glob: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) return undefined;
      // Go negates a class with '^' as regular expressions do
      out += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < glob.length) out += literal(glob[++i]!);
    else out += literal(ch);
  }
  try {
    return new RegExp(`^${out}$`);
  } catch {
    return undefined;
  }
}

function keyMatches(key: string, repository: string): boolean {
  const glob = locate(key);
  const target = locate(repository);
  if (glob === undefined || target === undefined) return false;
  if (glob.port !== target.port) return false;
  if (glob.labels.length !== target.labels.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return glob.labels.every((label, i) => globToRegExp(label)?.test(target.labels[i]!) === true);
}

/** The credentials to try for `repository` (see imageRepository), in order; [] means anonymous. */
export function lookupCredentials(keyring: Keyring, repository: string): Credential[] {
  const found = keyring.keys.filter((k) => keyMatches(k, repository)).flatMap((k) => keyring.credentials.get(k) ?? []);
  if (found.length > 0) return found;
  if (repository.startsWith('docker.io/') || repository.startsWith(`${dockerHubKey}/`))
    return [...(keyring.credentials.get(dockerHubKey) ?? [])];
  return [];
}
