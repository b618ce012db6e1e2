/**
 * A container's spec hash, written on the container as a CRI annotation and compared on every
 * sync: a different hash means the container runs an outdated definition and is replaced.
 *
 * The hash covers an explicit list of fields, and the list has a version that is part of the
 * hash ("v1.<hex>"). A container is always compared with the field list of the version it was
 * created under, so a newer agent that hashes more (or fewer) fields restarts nothing that was
 * started by an older one. Fields that may change without a restart (resources: resized in
 * place; probes; pull policy) are not hashed. Empty values (undefined, null, [], {}) are dropped
 * before hashing, so a server that fills in empty defaults does not change a hash either.
 */
import { createHash } from 'node:crypto';
import type { Container } from '../../kube/corev1.ts';

const hashedFields: Record<string, readonly (keyof Container)[]> = {
  v1: [
    'name',
    'image',
    'command',
    'args',
    'workingDir',
    'ports',
    'env',
    'envFrom',
    'volumeMounts',
    'securityContext',
    'lifecycle',
    'restartPolicy',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'stdin',
    'stdinOnce',
    'tty',
  ],
};

const currentHashVersion = 'v1';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])] as const)
      .filter(([, item]) => item !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value === null ? undefined : value;
}

export function containerSpecHash(container: Container, version: string = currentHashVersion): string {
  const fields = hashedFields[version];
  if (fields === undefined) throw new Error(`unknown container hash version ${version}`);
  const picked: Record<string, unknown> = {};
  for (const field of fields) picked[field] = container[field];
  const digest = createHash('sha256')
    .update(JSON.stringify(canonical(picked) ?? {}))
    .digest('hex');
  return `${version}.${digest.slice(0, 16)}`;
}

/**
 * Whether a running container (created with `recordedHash`) still matches `container`. A hash of
 * a version this agent does not know is kept: replacing a container we cannot judge is worse
 * than leaving it.
 */
export function specStillMatches(container: Container, recordedHash: string): boolean {
  const version = recordedHash.split('.')[0] ?? '';
  if (hashedFields[version] === undefined) return true;
  return containerSpecHash(container, version) === recordedHash;
}
