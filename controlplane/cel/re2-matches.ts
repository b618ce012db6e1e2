/**
 * CEL's `matches` as upstream runs it: RE2 (cel-go uses Go's regexp), in time linear in the input.
 * The library's own `string.matches(string)` builds a JavaScript RegExp, which backtracks: a rule
 * such as `self.name.matches(self.pattern)` would let anyone who may write the object stall the
 * server with `^(a+)+$`. The library cannot replace a standard function, so each parsed expression
 * calls ours instead: its `matches` calls are renamed, before type checking, to a function
 * registered beside the standard one, and error texts carry the name the rule was written with.
 * A literal pattern RE2 cannot compile is a compile error, as upstream's environment (cel-go's
 * ValidateRegexLiterals, from Kubernetes 1.29) makes it.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { compileRe2, re2Matches } from '../validation/re2-pattern.ts';

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

/** A literal string argument at `index` of a call node's argument list. */
function literalArgument(args: unknown, index: number): string | undefined {
  const arg = Array.isArray(args) ? args[index] : undefined;
  return isAstNode(arg) && arg.op === 'value' && typeof arg.args === 'string' ? arg.args : undefined;
}

/**
 * `invalid matches argument` when a call of `matches` (after routeMatchesToRe2) has a literal first
 * argument that RE2 cannot compile: the pattern of `x.matches('...')`, or, as cel-go checks the
 * first argument whatever the call's style, the string of `matches('...', p)`.
 */
export function invalidMatchesLiteral(ast: unknown): string | undefined {
  let found: string | undefined;
  const visit = (value: unknown): void => {
    if (found !== undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isAstNode(value)) return;
    const args = value.args;
    if (Array.isArray(args)) {
      const literal =
        value.op === 'rcall' && args[0] === re2MatchesName
          ? literalArgument(args[2], 0)
          : value.op === 'call' && args[0] === 'matches'
            ? literalArgument(args[1], 0)
            : undefined;
      if (literal !== undefined && !compileRe2(literal).ok) found = 'invalid matches argument';
    }
    visit(args);
  };
  visit(ast);
  return found;
}

/** An error text as the rule's author wrote the call (`matches`, not the internal name). */
export function withUserFacingNames(text: string): string {
  return text.includes(re2MatchesName) ? text.replaceAll(re2MatchesName, 'matches') : text;
}
