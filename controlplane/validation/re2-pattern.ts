/**
 * Regular expressions that come from API objects (a CRD schema's `pattern`, the argument of CEL's
 * `matches`, `find` and `findAll`) are RE2, as upstream's Go `regexp` reads them: matching takes
 * time linear in the input whatever the pattern, and what RE2 cannot express (backreferences,
 * lookaround) is refused, with Go's error text. JavaScript's own RegExp backtracks: `^(a+)+$`
 * against a few dozen characters would hold the server's only thread for minutes.
 */
import { RE2JS } from 're2js';

type Compiled = { readonly ok: true; readonly regex: RE2JS } | { readonly ok: false; readonly error: string };

/** Patterns are few (written in definitions and rules) and used on every write: compiled once. */
const compiled = new Map<string, Compiled>();
/** A bound on the cache, for patterns that arrive as data (a CEL rule may match against a field). */
const maxCached = 4096;

/** The pattern compiled as RE2, or Go's words for why it is not one (`error parsing regexp: ...`). */
export function compileRe2(pattern: string): Compiled {
  let entry = compiled.get(pattern);
  if (entry === undefined) {
    try {
      entry = { ok: true, regex: RE2JS.compile(pattern) };
    } catch (err) {
      entry = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (compiled.size >= maxCached) compiled.clear();
    compiled.set(pattern, entry);
  }
  return entry;
}

/** Whether `text` contains a match of `pattern` (unanchored, as Go's MatchString); throws Go's error for a bad pattern. */
export function re2Matches(pattern: string, text: string): boolean {
  const entry = compileRe2(pattern);
  if (!entry.ok) throw new Error(entry.error);
  return entry.regex.test(text);
}

/** The first match of `pattern` in `text`, '' when there is none. */
export function re2Find(pattern: string, text: string): string {
  const entry = compileRe2(pattern);
  if (!entry.ok) throw new Error(entry.error);
  const matcher = entry.regex.matcher(text);
  return matcher.find() ? (matcher.group() ?? '') : '';
}

/** Every match of `pattern` in `text`, left to right, at most `limit` of them (negative: all). */
export function re2FindAll(pattern: string, text: string, limit = -1): string[] {
  const entry = compileRe2(pattern);
  if (!entry.ok) throw new Error(entry.error);
  const found: string[] = [];
  const matcher = entry.regex.matcher(text);
  while ((limit < 0 || found.length < limit) && matcher.find()) found.push(matcher.group() ?? '');
  return found;
}
