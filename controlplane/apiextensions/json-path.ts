/**
 * The JSONPath subset that CustomResourceDefinitions use in printer columns, scale paths and
 * selectable fields: `.a.b`, `.a[0]`, `.a[*].b` and filters such as
 * `.status.conditions[?(@.type=="Ready")].status`. Pure reads, no evaluation of code.
 */
import { isPlainRecord } from './schema-types.ts';

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

const cache = new Map<string, Step[] | undefined>();

/** The path's steps; undefined when the text is not in the subset. */
function parseJsonPath(text: string): Step[] | undefined {
  if (cache.has(text)) return cache.get(text);
  const steps: Step[] = [];
  let rest = text.trim().replace(/^\{(.*)\}$/, '$1');
  let ok = true;
  while (rest.length > 0 && ok) {
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z0-9_\-$/]+)/.exec(rest))) steps.push({ field: m[1]! });
    else if ((m = /^\[(\d+)\]/.exec(rest))) steps.push({ index: Number(m[1]) });
    else if ((m = /^\[\*\]/.exec(rest))) steps.push({ all: true });
    else if ((m = /^\['([^']*)'\]/.exec(rest))) steps.push({ field: m[1]! });
    else if ((m = /^\[\?\(@((?:\.[A-Za-z0-9_\-]+)+)\s*==\s*["']([^"']*)["']\)\]/.exec(rest)))
      steps.push({ filter: { path: m[1]!.slice(1).split('.'), value: m[2]! } });
    else ok = false;
    if (m) rest = rest.slice(m[0].length);
  }
  const parsed = ok && steps.length > 0 ? steps : undefined;
  cache.set(text, parsed);
  return parsed;
}

/** Every value the path reaches in `root` (none when it reaches nothing). */
export function readJsonPath(root: unknown, text: string): unknown[] {
  const steps = parseJsonPath(text);
  if (steps === undefined) return [];
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isPlainRecord(value) && value[step.field] !== undefined) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...value);
        else if (isPlainRecord(value)) next.push(...Object.values(value));
      } else if (Array.isArray(value)) {
        for (const item of value) {
          let at: unknown = item;
          for (const key of step.filter.path) at = isPlainRecord(at) ? at[key] : undefined;
          if (at !== undefined && String(at) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** Sets the value at a path of plain fields (`.spec.replicas`), creating objects on the way. */
export function writeJsonPath(root: Record<string, unknown>, text: string, value: unknown): boolean {
  const steps = parseJsonPath(text);
  if (steps === undefined || !steps.every((s) => 'field' in s)) return false;
  let at = root;
  const fields = steps.map((s) => (s as { field: string }).field);
  for (const field of fields.slice(0, -1)) {
    if (!isPlainRecord(at[field])) at[field] = {};
    at = at[field] as Record<string, unknown>;
  }
  at[fields.at(-1)!] = value;
  return true;
}
