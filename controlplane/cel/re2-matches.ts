/**
 * CEL's `matches` as upstream runs it: RE2 (cel-go uses Go's regexp), in time linear in the input.
 * The library's own `string.matches(string)` builds a JavaScript RegExp, which backtracks: a rule
 * such as `self.name.matches(self.pattern)` would let anyone who may write the object stall the
 * server with `^(a+)+$`. The library cannot replace a standard function, so each parsed expression
 * calls ours instead: its `matches` calls are renamed, before type checking, to a function
 * registered beside the standard one, and error texts carry the name the rule was written with.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { re2Matches } from '../validation/re2-pattern.ts';

/** CEL reserves identifiers that begin with two underscores: no rule can call this by name. */
const re2MatchesName = '__re2_matches__';

/** Registers the RE2 `matches` (method and global form) on `env`. */
export function registerRe2Matches(env: Environment): Environment {
  return env
    .registerFunction(`string.${re2MatchesName}(string): bool`, (text: string, pattern: string) =>
      re2Matches(pattern, text),
    )
    .registerFunction('matches(string, string): bool', (text: string, pattern: string) => re2Matches(pattern, text));
}

interface AstNode {
  op: string;
  args: unknown;
}

const isAstNode = (value: unknown): value is AstNode =>
  value !== null && typeof value === 'object' && typeof (value as { op?: unknown }).op === 'string';

/** Renames every `x.matches(y)` of a parsed expression (the library's syntax tree) to the RE2 one. */
export function routeMatchesToRe2(ast: unknown): void {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isAstNode(value)) return;
    const args = value.args;
    if (value.op === 'rcall' && Array.isArray(args) && args[0] === 'matches' && Array.isArray(args[2]))
      args[0] = re2MatchesName;
    visit(args);
  };
  visit(ast);
}

/** An error text as the rule's author wrote the call (`matches`, not the internal name). */
export function withUserFacingNames(text: string): string {
  return text.includes(re2MatchesName) ? text.replaceAll(re2MatchesName, 'matches') : text;
}
