/**
 * Ownership for writes that are not applies (create, replace, patch), as upstream's field manager
 * records them: the writer's manager gets an `Update` entry for every field it added or changed,
 * takes those fields (and the ones it removed) away from every other manager without conflict,
 * merges with its own earlier entry of the same apiVersion and subresource, and entries left empty
 * disappear. At most ten Update entries are kept: the oldest ones fold into `ancient-changes`.
 */
import { isPlainObject, type KubeObject } from '../../../kube/types.ts';
import { compareEntries, entrySeconds, type ManagedFieldsEntry } from './managed-fields-entry.ts';
import { fieldSet, fromFieldsV1, keyPath, type ListTypes, toFieldsV1, valueAt } from './field-set.ts';

export interface UpdateWriter {
  readonly manager: string;
  /** The apiVersion the write was made in (group/version of the URL). */
  readonly apiVersion: string;
  /** 'status' (or a CSR's 'approval') for writes through that subresource: they own status fields. */
  readonly subresource?: string;
  /** RFC 3339 time recorded on the writer's entry. */
  readonly now: string;
  /** A custom resource's list types (from its schema); absent: built-in kinds' rules. */
  readonly lists?: ListTypes;
}

/** Upstream's cap on Update entries per object, and the manager the oldest ones merge into. */
const maxUpdateEntries = 10;
const ancientChangesManager = 'ancient-changes';

interface Owner {
  entry: ManagedFieldsEntry;
  fields: Set<string>;
}

/** The manager of a write without `?fieldManager=`: the User-Agent's program name (before the first '/'). */
export function managerFromUserAgent(userAgent: string | undefined): string {
  return (userAgent ?? '').split('/')[0]!;
}

/** Entries that are not (manager, operation, apiVersion for updates, subresource) equal are different owners. */
function sameOwner(a: ManagedFieldsEntry, b: ManagedFieldsEntry): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? '') === (b.subresource ?? '') &&
    (a.operation === 'Apply' || a.apiVersion === b.apiVersion)
  );
}

/** An entry upstream can decode: a known operation, an apiVersion, and FieldsV1. */
function isEntry(value: unknown): value is ManagedFieldsEntry {
  return (
    isPlainObject(value) &&
    (value.manager === undefined || typeof value.manager === 'string') &&
    (value.operation === 'Apply' || value.operation === 'Update') &&
    typeof value.apiVersion === 'string' &&
    value.apiVersion !== '' &&
    value.fieldsType === 'FieldsV1' &&
    (value.fieldsV1 === undefined || isPlainObject(value.fieldsV1))
  );
}

/** A list is taken whole or not at all: one entry that does not decode discards it. */
// a manager left out (Go's omitempty for the empty name of a client that sent no User-Agent) is ''
const decoded = (list: unknown): ManagedFieldsEntry[] | undefined =>
  Array.isArray(list) && list.every(isEntry) ? list.map((e) => ({ ...e, manager: e.manager ?? '' })) : undefined;

/** `[]` or `[{}]` sent by a client: start from no owners at all. */
const isReset = (sent: unknown): boolean =>
  Array.isArray(sent) &&
  (sent.length === 0 || (sent.length === 1 && isPlainObject(sent[0]) && Object.keys(sent[0]).length === 0));

/**
 * The entries a write starts from: none when the client resets them; the client's own when it sent a
 * valid, non-empty list on the main resource; otherwise the stored ones (so clients unaware of
 * managedFields cannot drop them, and a subresource write cannot rewrite them).
 */
function startingEntries(
  live: KubeObject | undefined,
  next: KubeObject,
  subresource: string | undefined,
): ManagedFieldsEntry[] {
  const sent = next.metadata.managedFields as unknown;
  if (subresource === undefined) {
    if (isReset(sent)) return [];
    const own = decoded(sent);
    if (own !== undefined && own.length > 0) return own;
  }
  return decoded(live?.metadata.managedFields) ?? [];
}

/** The fields a write owns: the status and approval subresources own status only, the main resource all but status. */
function ownedFields(
  object: KubeObject | undefined,
  subresource: string | undefined,
  lists: ListTypes | undefined,
): Set<string> {
  if (object === undefined) return new Set();
  const typed = lists !== undefined ? { lists } : {};
  if (subresource !== 'status' && subresource !== 'approval') return fieldSet(object, typed);
  if (object.status === undefined) return new Set();
  return fieldSet({ status: object.status }, { withStatus: true, ...typed });
}

function changedFields(
  live: KubeObject | undefined,
  next: KubeObject,
  subresource: string | undefined,
  lists: ListTypes | undefined,
): { changed: Set<string>; removed: Set<string> } {
  const before = ownedFields(live, subresource, lists);
  const after = ownedFields(next, subresource, lists);
  const changed = new Set<string>();
  for (const key of after) {
    if (!before.has(key)) changed.add(key);
    else if (
      keyPath(key).at(-1) !== '.' &&
      JSON.stringify(valueAt(live, keyPath(key))) !== JSON.stringify(valueAt(next, keyPath(key)))
    )
      changed.add(key);
  }
  return { changed, removed: new Set([...before].filter((key) => !after.has(key))) };
}

/**
 * Past the cap, the oldest Update entries merge, per apiVersion, into one `ancient-changes` entry:
 * the first old entry of a version becomes the bucket when a second one of that version joins it.
 */
function capUpdates(owners: Owner[]): Owner[] {
  const updates = owners
    .filter((o) => o.entry.operation === 'Update')
    .sort((a, b) => entrySeconds(a.entry) - entrySeconds(b.entry));
  let count = updates.length;
  const firstOfVersion = new Map<string, Owner>();
  const gone = new Set<Owner>();
  for (const owner of updates) {
    if (count <= maxUpdateEntries) break;
    const version = owner.entry.apiVersion ?? '';
    const first = firstOfVersion.get(version);
    if (first === undefined) {
      firstOfVersion.set(version, owner);
      continue;
    }
    if (first.entry.manager !== ancientChangesManager || first.entry.subresource !== undefined) {
      first.entry = {
        manager: ancientChangesManager,
        operation: 'Update',
        apiVersion: version,
        ...(first.entry.time ? { time: first.entry.time } : {}),
        fieldsType: 'FieldsV1',
      };
    }
    for (const key of owner.fields) first.fields.add(key);
    if (owner.entry.time) first.entry.time = owner.entry.time;
    gone.add(owner);
    count--;
  }
  return owners.filter((o) => !gone.has(o));
}

/** An entry in the field order upstream writes it. */
function asEntry({ entry, fields }: Owner): ManagedFieldsEntry {
  const { manager, operation, apiVersion, time, subresource } = entry;
  // upstream's JSON leaves an empty manager out (omitempty), as its protobuf does
  return {
    ...((manager ? { manager } : {}) as { manager: string }),
    operation,
    ...(apiVersion ? { apiVersion } : {}),
    ...(time ? { time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(fields),
    ...(subresource ? { subresource } : {}),
  };
}

/** `next` with metadata.managedFields brought up to date for a create, replace or patch by `writer`. */
export function recordUpdate(live: KubeObject | undefined, next: KubeObject, writer: UpdateWriter): KubeObject {
  const mine: ManagedFieldsEntry = {
    manager: writer.manager,
    operation: 'Update',
    apiVersion: writer.apiVersion,
    ...(writer.subresource ? { subresource: writer.subresource } : {}),
  };
  const owners: Owner[] = startingEntries(live, next, writer.subresource).map((entry) => ({
    entry,
    fields: fromFieldsV1(entry.fieldsV1),
  }));
  const { changed, removed } = changedFields(live, next, writer.subresource, writer.lists);
  // Every earlier entry, the writer's own included, loses what this write changed or removed; the
  // writer's entry then takes what it changed, with a new time only when it changed something.
  for (const owner of owners) for (const key of [...changed, ...removed]) owner.fields.delete(key);
  const own = owners.find((o) => sameOwner(o.entry, mine));
  if (changed.size > 0) {
    if (own) {
      for (const key of changed) own.fields.add(key);
      own.entry = { ...own.entry, time: writer.now };
    } else {
      owners.push({ entry: { ...mine, time: writer.now }, fields: changed });
    }
  }
  const kept = owners.filter((o) => o.fields.size > 0);
  const entries = capUpdates(kept)
    .map((o) => asEntry(o))
    .sort(compareEntries);
  const out = next;
  if (entries.length > 0) out.metadata.managedFields = entries;
  else delete out.metadata.managedFields;
  return out;
}
