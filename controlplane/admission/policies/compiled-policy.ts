/**
 * A ValidatingAdmissionPolicy's CEL, compiled once per policy generation and evaluated per
 * request, as upstream's validating policy plugin does: variables in order (`variables.<name>`),
 * then match conditions (all must hold for the policy to apply), then each validation, whose
 * failure carries its message (`message`, else `messageExpression`'s result, else
 * `failed expression: <expression>`) and reason (Invalid unless it says otherwise). An expression
 * that cannot be evaluated is a failure under failurePolicy Fail and is skipped under Ignore.
 */
import { compileCel, type CelProgram } from '../../cel/program.ts';
import { jsonFromCelValue } from '../../cel/values.ts';

type Any = Record<string, any>;

/** The names a policy's expressions may use (upstream's admission CEL environment). */
const policyVariables = [
  'object',
  'oldObject',
  'request',
  'params',
  'namespaceObject',
  'authorizer',
  'variables',
] as const;

interface CompiledValidation {
  readonly expression: string;
  readonly program: CelProgram | string;
  readonly message?: string;
  readonly messageExpression?: CelProgram;
  readonly reason: string;
}

export interface CompiledPolicy {
  readonly variables: ReadonlyArray<{ readonly name: string; readonly program: CelProgram | string }>;
  readonly matchConditions: ReadonlyArray<{ readonly name: string; readonly program: CelProgram | string }>;
  readonly validations: readonly CompiledValidation[];
  readonly auditAnnotations: ReadonlyArray<{ readonly key: string; readonly program: CelProgram | string }>;
  readonly failurePolicy: 'Fail' | 'Ignore';
}

/** What a policy made of a request: the validations that failed, and its audit annotations. */
interface PolicyOutcome {
  readonly violations: readonly Violation[];
  /** By the annotation's own key (the caller prefixes the policy's name). */
  readonly annotations: Readonly<Record<string, string>>;
}

interface Violation {
  readonly message: string;
  readonly reason: string;
  readonly index: number;
}

const compile = (expression: unknown): CelProgram | string => {
  const result = compileCel(String(expression ?? ''), { variables: policyVariables });
  return result.ok ? result.program : `compilation failed: ${result.error}`;
};

/** Why an expression does not compile, in upstream's words, or undefined when it does (for validation). */
export function compileError(expression: string): string | undefined {
  const program = compile(expression);
  return typeof program === 'string' ? program : undefined;
}

export function compilePolicy(policy: Any): CompiledPolicy {
  const spec = (policy.spec ?? {}) as Any;
  return {
    variables: ((spec.variables ?? []) as Any[]).map((v) => ({ name: String(v.name), program: compile(v.expression) })),
    matchConditions: ((spec.matchConditions ?? []) as Any[]).map((c) => ({
      name: String(c.name),
      program: compile(c.expression),
    })),
    validations: ((spec.validations ?? []) as Any[]).map((v) => {
      const messageExpression = typeof v.messageExpression === 'string' ? compile(v.messageExpression) : undefined;
      return {
        expression: String(v.expression ?? ''),
        program: compile(v.expression),
        ...(typeof v.message === 'string' && v.message !== '' ? { message: v.message } : {}),
        ...(messageExpression !== undefined && typeof messageExpression !== 'string' ? { messageExpression } : {}),
        reason: typeof v.reason === 'string' && v.reason !== '' ? v.reason : 'Invalid',
      };
    }),
    auditAnnotations: ((spec.auditAnnotations ?? []) as Any[]).map((a) => ({
      key: String(a.key ?? ''),
      program: compile(a.valueExpression),
    })),
    failurePolicy: spec.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
  };
}

type Outcome = { readonly value: unknown } | { readonly error: string };

function run(program: CelProgram | string, bindings: Record<string, unknown>): Outcome {
  if (typeof program === 'string') return { error: program };
  const result = program.evaluate(bindings);
  return result.ok ? { value: result.value } : { error: result.error };
}

const nothing: PolicyOutcome = { violations: [], annotations: {} };

/**
 * What the policy makes of a request (bindings: object, oldObject, request, params,
 * namespaceObject as CEL values): nothing when its match conditions do not hold; else the
 * validations that failed and the audit annotations whose value is a non-empty string.
 */
export function evaluatePolicy(policy: CompiledPolicy, bindings: Record<string, unknown>): PolicyOutcome {
  const failed = (index: number, expression: string, error: string): Violation[] =>
    policy.failurePolicy === 'Ignore'
      ? []
      : [{ index, reason: 'Invalid', message: `expression '${expression}' resulted in error: ${error}` }];
  const variables: Record<string, unknown> = {};
  const scope = { ...bindings, variables };
  for (const variable of policy.variables) {
    const outcome = run(variable.program, scope);
    // a variable that fails is an error only where an expression reads it; kept as absent here
    if ('value' in outcome) variables[variable.name] = outcome.value;
  }
  for (const condition of policy.matchConditions) {
    const outcome = run(condition.program, scope);
    if ('error' in outcome) return { violations: failed(0, condition.name, outcome.error), annotations: {} };
    if (outcome.value !== true) return nothing;
  }
  const violations: Violation[] = [];
  for (const [index, validation] of policy.validations.entries()) {
    const outcome = run(validation.program, scope);
    if ('error' in outcome) {
      violations.push(...failed(index, validation.expression, outcome.error));
      continue;
    }
    if (outcome.value === true) continue;
    let message = validation.message;
    if (validation.messageExpression) {
      const text = run(validation.messageExpression, scope);
      const value = 'value' in text ? jsonFromCelValue(text.value) : undefined;
      if (typeof value === 'string' && value.trim() !== '' && !/[\r\n]/.test(value)) message = value;
    }
    violations.push({
      index,
      reason: validation.reason,
      message: message ?? `failed expression: ${validation.expression}`,
    });
  }
  const annotations: Record<string, string> = {};
  for (const annotation of policy.auditAnnotations) {
    const outcome = run(annotation.program, scope);
    if ('error' in outcome) {
      violations.push(...failed(0, annotation.key, outcome.error));
      continue;
    }
    const value = jsonFromCelValue(outcome.value);
    if (typeof value === 'string' && value !== '') annotations[annotation.key] = value;
  }
  return { violations, annotations };
}
