/**
 * From the ruleset wanted and what the node holds to the commands that put it there, in order, and
 * only those that have work to do. Pure.
 *   1. `ipset restore` of the sets the rules need that do not exist yet (none: no process);
 *   2. one `iptables-restore --noflush`: every chain of ours rewritten whole, stale ones deleted,
 *      the hook moved or inserted only when it is not first in FORWARD already;
 *   3. `ipset restore` destroying the sets no rule uses any more: only once the restore above has
 *      taken the rules that used them away, so it cannot share a process with step 1.
 */
import { renderFilter, renderSetCreation, renderSetRemoval, type ObservedFilter } from './render.ts';
import type { Ruleset } from './ruleset.ts';

interface ApplyStep {
  /** What the step does, for the error that says which one failed. */
  readonly kind: 'create-sets' | 'restore-rules' | 'destroy-sets';
  readonly argv: readonly string[];
  readonly input: string;
}

export interface ObservedNode extends ObservedFilter {
  /** Our sets that exist now. */
  readonly sets: ReadonlySet<string>;
}

export function planApply(ruleset: Ruleset, observed: ObservedNode): ApplyStep[] {
  const steps: ApplyStep[] = [];
  const create = renderSetCreation(ruleset, observed.sets);
  if (create !== '') steps.push({ kind: 'create-sets', argv: ['ipset', 'restore'], input: create });
  steps.push({
    kind: 'restore-rules',
    argv: ['iptables-restore', '-w', '--noflush'],
    input: renderFilter(ruleset, observed),
  });
  const destroy = renderSetRemoval(ruleset, observed.sets);
  if (destroy !== '') steps.push({ kind: 'destroy-sets', argv: ['ipset', 'restore'], input: destroy });
  return steps;
}
