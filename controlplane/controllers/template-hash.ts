/**
 * A short, stable hash of a pod template, used for the pod-template-hash label (Deployments) and
 * controller-revision-hash (DaemonSets, StatefulSets). Keys are sorted before hashing so the same
 * template always gives the same hash however its JSON was ordered; the collision count is mixed in
 * so a clash can be escaped by counting up. The digits are spelled in an alphabet without vowels
 * (as upstream does) so a hash never reads as a word.
 */
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      // a null field is an unset one, as for the Go structs upstream hashes: kubectl rollout undo
      // sends the template back with "creationTimestamp": null, which must not make it new
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function templateHash(template: unknown, collisionCount = 0): string {
  const hash = fnv1a32(`${canonicalJson(template)}#${collisionCount}`);
  return [...String(hash)].map((digit) => alphabet[digit.charCodeAt(0) % alphabet.length]).join('');
}
