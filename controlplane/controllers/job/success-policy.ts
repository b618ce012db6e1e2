/**
 * successPolicy of an Indexed Job (upstream's JobSuccessPolicy): the Job succeeds as soon as one
 * rule is met, even with indexes left to run. A rule names indexes (succeededIndexes, the
 * compressed "0,2-4" form) and/or a count: with both, that many of the named indexes must have
 * succeeded; with only indexes, all of them; with only a count, that many indexes at all.
 */
import type { SuccessPolicyRule } from '../workload-types.ts';
import { parseIndexes } from './completion-index.ts';

function ruleMet(rule: SuccessPolicyRule, succeeded: ReadonlySet<number>, completions: number): boolean {
  if (rule.succeededIndexes === undefined)
    return rule.succeededCount !== undefined && succeeded.size >= rule.succeededCount;
  const named = parseIndexes(rule.succeededIndexes, completions);
  let done = 0;
  for (const index of named) if (succeeded.has(index)) done++;
  return done >= (rule.succeededCount ?? named.size);
}

/** The message of the first rule met (upstream's wording), or undefined when none is. */
export function successPolicyMet(
  rules: readonly SuccessPolicyRule[],
  succeeded: ReadonlySet<number>,
  completions: number,
): string | undefined {
  const index = rules.findIndex((rule) => ruleMet(rule, succeeded, completions));
  return index < 0 ? undefined : `Matched rules at index ${index}`;
}
