/**
 * The options of a write (CreateOptions, UpdateOptions, PatchOptions, DeleteOptions) checked as
 * upstream checks them before anything is read or written: dryRun may only say All, fieldValidation
 * is one of its three values, a fieldManager is at most 128 printable characters, `force` belongs
 * to apply patches only, and an apply names its fieldManager. Problems are one 422 naming the
 * options kind, in upstream's words.
 */
import type { StatusCause } from '../../kube/types.ts';
import { forbiddenOption, invalidOptions, unsupportedOption } from './query-params.ts';

const optionsKinds: Record<string, string> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  delete: 'DeleteOptions',
  deletecollection: 'DeleteOptions',
};

const fieldManagerMaxLength = 128;

/** A string list as Go's %#v prints it: []string{"a", "b"}. */
const goStrings = (values: readonly string[]) => `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;

function fieldManagerErrors(manager: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (manager.length > fieldManagerMaxLength)
    causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: may not be more than ${fieldManagerMaxLength} bytes`,
      field: 'fieldManager',
    });
  [...manager].forEach((char, i) => {
    if (/[\p{C}\p{Z}]/u.test(char) && char !== ' ') {
      const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(manager)}: invalid character ${code} (at position ${i})`,
        field: 'fieldManager',
      });
    }
  });
  return causes;
}

/** Throws 422 when the query's options break upstream's rules for this verb. */
export function checkWriteOptions(verb: string, query: URLSearchParams, patchType?: string): void {
  const kind = optionsKinds[verb];
  if (kind === undefined) return;
  const causes: StatusCause[] = [];
  const isDelete = kind === 'DeleteOptions';
  const manager = query.get('fieldManager') ?? '';
  if (kind === 'PatchOptions') {
    if (patchType !== 'apply' && query.has('force'))
      causes.push(forbiddenOption('force', 'may not be specified for non-apply patch'));
    if (patchType === 'apply' && manager === '')
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: is required for apply patch',
        field: 'fieldManager',
      });
  }
  if (!isDelete) causes.push(...fieldManagerErrors(manager));
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((v) => v !== 'All')) causes.push(unsupportedOption('dryRun', goStrings(dryRun), ['All']));
  const validation = query.get('fieldValidation') ?? '';
  if (!isDelete && !['', 'Ignore', 'Strict', 'Warn'].includes(validation))
    causes.push(unsupportedOption('fieldValidation', JSON.stringify(validation), ['', 'Ignore', 'Strict', 'Warn']));
  if (causes.length > 0) throw invalidOptions(kind, causes);
}
