/**
 * A webhook's matchConditions (CEL, GA in 1.30): the webhook is called only when every condition
 * holds for the request; one that is false skips it, one that cannot be evaluated is a failure of
 * the call (its failurePolicy decides). Expressions see object, oldObject, request and authorizer,
 * as upstream's; each is compiled once and kept by its text.
 */
import { compileCel, type CelProgram } from '../../cel/program.ts';

type Any = Record<string, any>;

const matchConditionVariables = ['object', 'oldObject', 'request', 'authorizer'] as const;

const programs = new Map<string, CelProgram | string>();

function programOf(expression: string): CelProgram | string {
  let program = programs.get(expression);
  if (program === undefined) {
    if (programs.size > 4096) programs.clear();
    const result = compileCel(expression, { variables: matchConditionVariables });
    program = result.ok ? result.program : `compilation failed: ${result.error}`;
    programs.set(expression, program);
  }
  return program;
}

/** Why a condition's expression does not compile, or undefined when it does (for validation). */
export function matchConditionCompileError(expression: string): string | undefined {
  const program = programOf(expression);
  return typeof program === 'string' ? program : undefined;
}

type ConditionsOutcome = { readonly matches: boolean } | { readonly error: string };

/** Evaluates the conditions in order with `bindings` (CEL values); stops at the first false or error. */
export function evaluateMatchConditions(
  conditions: unknown,
  bindings: () => Record<string, unknown>,
): ConditionsOutcome {
  if (!Array.isArray(conditions) || conditions.length === 0) return { matches: true };
  const values = bindings();
  for (const condition of conditions as Any[]) {
    const program = programOf(String(condition?.expression ?? ''));
    if (typeof program === 'string') return { error: `matchCondition '${condition?.name}': ${program}` };
    const result = program.evaluate(values);
    if (!result.ok) return { error: `matchCondition '${condition?.name}': ${result.error}` };
    if (result.value !== true) return { matches: false };
  }
  return { matches: true };
}
