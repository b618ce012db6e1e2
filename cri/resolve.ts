/**
 * Turns what a user typed (a full ID or a prefix of one) into exactly one ID, the way crictl
 * does: an exact ID wins, else a unique prefix; an ambiguous prefix is refused with the
 * candidates listed, so the user can pick.
 */
import { CriAmbiguousIdError, CriNotFoundError } from './errors.ts';

interface Candidate {
  id: string;
  /** Shown next to the ID when the prefix is ambiguous (a container or pod name). */
  name?: string;
}

export function resolveId(
  kind: 'container' | 'pod' | 'image',
  typed: string,
  candidates: readonly Candidate[],
): string {
  const bare = (id: string) => (kind === 'image' ? id.replace(/^sha256:/, '') : id);
  const wanted = bare(typed);
  if (wanted === '') throw new CriNotFoundError(`no ${kind} ID given`);
  const exact = candidates.find((c) => bare(c.id) === wanted);
  if (exact) return exact.id;
  const matches = candidates.filter((c) => bare(c.id).startsWith(wanted));
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new CriNotFoundError(`no ${kind} with ID "${typed}"`);
  const listed = matches
    .slice(0, 10)
    .map((c) => `${bare(c.id).slice(0, 13)}${c.name ? ` (${c.name})` : ''}`)
    .join(', ');
  const more = matches.length > 10 ? `, and ${matches.length - 10} more` : '';
  throw new CriAmbiguousIdError(`${kind} ID "${typed}" is ambiguous: it matches ${listed}${more}`);
}
