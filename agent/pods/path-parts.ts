/**
 * The parts of a pod that the agent turns into host paths (pod folder, volume folders, log folder,
 * subPaths, the files of configMap, secret, downwardAPI and projected volumes), checked with the
 * API's own rules before anything is made on the host. The API server refuses such pods already;
 * the agent runs as root and must not rely on it (an older server, a bug, a datastore edited by
 * hand): a volume named `../../etc` would otherwise become a folder the agent makes and chmods
 * outside the pod. Pure; the messages are upstream's field errors.
 */
import type { Container, Pod, Volume } from '../../kube/corev1.ts';
import { dns1123Label, dns1123Subdomain, invalidValue } from '../../kube/name-formats.ts';

/**
 * A pod UID as the agent uses it for folder names: the API server makes UUIDs and the agent's
 * own static pods hex hashes; anything else that could not be one folder name is refused.
 */
const uidPattern = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,126}[A-Za-z0-9])?$/;

export function uidProblems(uid: string): string[] {
  return uidPattern.test(uid)
    ? []
    : ["must be 1 to 128 letters, digits, '-' or '.', starting and ending with a letter or digit"];
}

/**
 * A path inside a volume (items[].path, a subPath): relative, no `..` element, and, for files the
 * agent writes, not starting with `..` (names the atomic writer keeps for itself).
 */
function localPathProblems(path: string, reservedPrefix = true): string[] {
  const problems: string[] = [];
  if (path.startsWith('/')) problems.push('must be a relative path');
  if (path.split('/').includes('..')) problems.push("must not contain '..'");
  else if (reservedPrefix && path.startsWith('..')) problems.push("must not start with '..'");
  if (path.includes('\0')) problems.push('must not contain a NUL character');
  return problems;
}

/** A path for the file-writing volume kinds: not empty either. */
function filePathProblems(path: string): string[] {
  return path === '' ? ['must not be empty'] : localPathProblems(path);
}

function check(out: string[], field: string, value: string, problems: string[]): void {
  if (problems.length > 0) out.push(invalidValue(field, value, problems));
}

function volumeProblems(volume: Volume, field: string, out: string[]): void {
  check(out, `${field}.name`, volume.name, dns1123Label(volume.name));
  const items = (source: { items?: readonly { path: string }[] } | undefined, at: string) => {
    for (const [k, item] of (source?.items ?? []).entries())
      check(out, `${at}.items[${k}].path`, item.path, filePathProblems(item.path));
  };
  items(volume.configMap, `${field}.configMap`);
  items(volume.secret, `${field}.secret`);
  items(volume.downwardAPI, `${field}.downwardAPI`);
  for (const [s, source] of (volume.projected?.sources ?? []).entries()) {
    const at = `${field}.projected.sources[${s}]`;
    items(source.configMap, `${at}.configMap`);
    items(source.secret, `${at}.secret`);
    items(source.downwardAPI, `${at}.downwardAPI`);
    const token = source.serviceAccountToken;
    if (token !== undefined) check(out, `${at}.serviceAccountToken.path`, token.path, filePathProblems(token.path));
  }
  const hostPath = volume.hostPath?.path;
  if (hostPath !== undefined && (hostPath.split('/').includes('..') || hostPath.includes('\0'))) {
    check(out, `${field}.hostPath.path`, hostPath, ["must not contain '..'"]);
  }
}

function containerProblems(container: Container, field: string, out: string[]): void {
  check(out, `${field}.name`, container.name, dns1123Label(container.name));
  for (const [m, mount] of (container.volumeMounts ?? []).entries()) {
    if (mount.subPath)
      check(out, `${field}.volumeMounts[${m}].subPath`, mount.subPath, localPathProblems(mount.subPath, false));
  }
}

/** Every path-forming field of the pod that breaks the API's rules, as field errors; empty when safe. */
export function podPathProblems(pod: Pod): string[] {
  const out: string[] = [];
  const { metadata, spec } = pod;
  check(out, 'metadata.namespace', metadata.namespace ?? 'default', dns1123Label(metadata.namespace ?? 'default'));
  check(out, 'metadata.name', metadata.name ?? '', dns1123Subdomain(metadata.name ?? ''));
  check(out, 'metadata.uid', metadata.uid ?? '', uidProblems(metadata.uid ?? ''));
  for (const [i, volume] of (spec.volumes ?? []).entries()) volumeProblems(volume, `spec.volumes[${i}]`, out);
  for (const [i, c] of (spec.initContainers ?? []).entries()) containerProblems(c, `spec.initContainers[${i}]`, out);
  for (const [i, c] of spec.containers.entries()) containerProblems(c, `spec.containers[${i}]`, out);
  for (const [i, c] of (spec.ephemeralContainers ?? []).entries())
    containerProblems(c, `spec.ephemeralContainers[${i}]`, out);
  return out;
}

/** A pod whose path-forming fields break the API's rules; the agent does not start it. */
export class UnsafePodPathError extends Error {
  readonly problems: readonly string[];
  constructor(what: string, problems: readonly string[]) {
    super(`${what}: ${problems.join('; ')}`);
    this.name = 'UnsafePodPathError';
    this.problems = problems;
  }
}

/** Throws unless `value` is usable as one folder name of kind `what` (for the path builders). */
export function requirePathPart(
  what: 'pod UID' | 'volume name' | 'container name' | 'namespace' | 'pod name' | 'persistent volume name',
  value: string,
): string {
  let problems: string[];
  if (what === 'pod UID') problems = uidProblems(value);
  // a DNS subdomain is one folder name: no '/', and never '.' or '..'
  else if (what === 'pod name' || what === 'persistent volume name') problems = dns1123Subdomain(value);
  else problems = dns1123Label(value);
  if (problems.length > 0)
    throw new UnsafePodPathError(`refusing ${what} ${JSON.stringify(value)} as a folder name`, problems);
  return value;
}
