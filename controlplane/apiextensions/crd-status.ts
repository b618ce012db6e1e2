/**
 * What a CustomResourceDefinition's status should say, computed from all definitions at once (a
 * pure planner): its names are accepted unless an older definition of the same group already took
 * one of them (upstream's naming controller), it is Established once its names are, storedVersions
 * gains the storage version, and a definition being deleted says Terminating.
 */
import { apiTime } from '../../kube/api-time.ts';
import {
  type Crd,
  type CrdCondition,
  type CrdNames,
  type CrdStatus,
  namesWithDefaults,
  storageVersion,
} from './crd.ts';

interface NameClaim {
  readonly field: string;
  readonly value: string;
}

function claims(names: CrdNames): NameClaim[] {
  const full = namesWithDefaults(names);
  return [
    { field: 'plural', value: full.plural },
    { field: 'singular', value: full.singular },
    ...(full.shortNames ?? []).map((value) => ({ field: 'shortNames', value })),
    { field: 'kind', value: full.kind },
    { field: 'listKind', value: full.listKind },
  ];
}

const conflictReason: Record<string, string> = {
  plural: 'PluralConflict',
  singular: 'SingularConflict',
  shortNames: 'ShortNamesConflict',
  kind: 'KindConflict',
  listKind: 'ListKindConflict',
};

/** Oldest first, so the first definition to claim a name keeps it. */
function byAge(a: Crd, b: Crd): number {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  return at < bt ? -1 : at > bt ? 1 : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

function condition(previous: Crd, next: Omit<CrdCondition, 'lastTransitionTime'>, now: string): CrdCondition {
  const before = previous.status?.conditions?.find((c) => c.type === next.type);
  const since = before !== undefined && before.status === next.status ? (before.lastTransitionTime ?? now) : now;
  return { ...next, lastTransitionTime: since };
}

/** The status each definition should have, by name. */
export function desiredStatuses(crds: readonly Crd[], now: Date): Map<string, CrdStatus> {
  const time = apiTime(now);
  const taken = new Map<string, Map<string, string>>(); // group -> "kind|value" -> owner
  const out = new Map<string, CrdStatus>();
  for (const crd of [...crds].sort(byAge)) {
    const group = crd.spec.group;
    const mine = taken.get(group) ?? new Map<string, string>();
    taken.set(group, mine);
    const nameKind = (c: NameClaim) =>
      c.field === 'kind' || c.field === 'listKind' ? `kind|${c.value}` : `resource|${c.value}`;
    const conflict = claims(crd.spec.names).find((c) => {
      const owner = mine.get(nameKind(c));
      return owner !== undefined && owner !== crd.metadata.name;
    });
    if (conflict === undefined) for (const c of claims(crd.spec.names)) mine.set(nameKind(c), crd.metadata.name ?? '');
    const accepted = conflict === undefined;
    const conditions: CrdCondition[] = [
      condition(
        crd,
        accepted
          ? { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' }
          : {
              type: 'NamesAccepted',
              status: 'False',
              reason: conflictReason[conflict.field]!,
              message: `${conflict.field === 'shortNames' ? 'shortNames' : conflict.field} "${conflict.value}" is already in use`,
            },
        time,
      ),
      condition(
        crd,
        accepted
          ? {
              type: 'Established',
              status: 'True',
              reason: 'InitialNamesAccepted',
              message: 'the initial names have been accepted',
            }
          : { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' },
        time,
      ),
    ];
    if (crd.metadata.deletionTimestamp !== undefined)
      conditions.push(
        condition(
          crd,
          {
            type: 'Terminating',
            status: 'True',
            reason: 'InstanceDeletionInProgress',
            message: 'CustomResource deletion is in progress',
          },
          time,
        ),
      );
    const stored = [...(crd.status?.storedVersions ?? [])];
    const storage = storageVersion(crd)?.name;
    if (storage !== undefined && !stored.includes(storage)) stored.push(storage);
    const acceptedNames = accepted
      ? namesWithDefaults(crd.spec.names)
      : (crd.status?.acceptedNames ?? { plural: '', kind: '' });
    out.set(crd.metadata.name ?? '', { conditions, acceptedNames, storedVersions: stored });
  }
  return out;
}
