/**
 * CEL for the API server: CustomResourceDefinition validation rules and ValidatingAdmissionPolicy
 * expressions compile here once (when their definition is stored) and evaluate many times (on
 * every write), with named bindings (`self`, `oldSelf`, `object`, `request`, ...) and a cost limit.
 * The library behind it (`@marcbachmann/cel-js`) stays inside this folder: callers see only
 * `compileCel`, `CelProgram` and plain results, never the library's errors or types.
 */
import { Environment } from '@marcbachmann/cel-js';
import { type CostShape, costBound, costShapeOf, largestCollection, perCallCostLimit } from './cost.ts';
import { registerKubernetesLibrary } from './kubernetes-library.ts';
import { registerKubernetesTypes } from './kubernetes-types.ts';
import { invalidMatchesLiteral, routeMatchesToRe2, withUserFacingNames } from './re2-matches.ts';

/** Upstream's error text when an evaluation would go over its cost limit. */
export const costLimitExceeded = 'operation cancelled: actual cost limit exceeded';

interface CelCompileOptions {
  /** The names an expression may refer to; anything else is a compile error. */
  readonly variables: readonly string[];
}

/** One evaluation's result: a value, or an error worded as cel-go's (`no such key: x`). */
type CelResult =
  | { readonly ok: true; readonly value: unknown; readonly cost: number }
  | { readonly ok: false; readonly error: string; readonly cost: number; readonly costExceeded?: boolean };

interface CelEvaluateOptions {
  /** Cost allowed for this evaluation (default: upstream's per-call limit, 1,000,000). */
  readonly costLimit?: number;
  /**
   * The largest list, map or string (in tenths of its length) among the bindings, when the
   * caller knows it already (one walk per object serves all its rules); measured otherwise.
   */
  readonly largestInput?: number;
}

export interface CelProgram {
  readonly expression: string;
  readonly shape: CostShape;
  /** Evaluates with these bindings (CEL values: ints as bigint, see values.ts). Never throws. */
  evaluate(bindings: Readonly<Record<string, unknown>>, options?: CelEvaluateOptions): CelResult;
}

type CelCompileResult =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly error: string };

type Evaluator = ((bindings: Record<string, unknown>) => unknown) & { readonly ast: unknown };

const environments = new Map<string, Environment>();

/** One environment per set of variable names, shared by every expression that uses that set. */
function environmentFor(variables: readonly string[]): Environment {
  const key = [...variables].sort().join('\0');
  let env = environments.get(key);
  if (env === undefined) {
    env = registerKubernetesTypes(
      registerKubernetesLibrary(
        new Environment({
          enableOptionalTypes: true,
          homogeneousAggregateLiterals: false,
          unlistedVariablesAreDyn: false,
        }),
      ),
    );
    for (const name of variables) env.registerVariable(name, 'dyn');
    environments.set(key, env);
  }
  return env;
}

/** cel-go's wording: the first line of the library's message, starting lower-case. */
function celErrorText(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.trim() ?? '';
  // "No such key" reads "no such key" as in cel-go; an acronym ("IP Address ...") stays as it is
  const text = /^[A-Z][a-z]/.test(first) ? first.charAt(0).toLowerCase() + first.slice(1) : first;
  return withUserFacingNames(text);
}

/** Parses and type-checks `expression`; a failure is returned, never thrown. */
export function compileCel(expression: string, options: CelCompileOptions): CelCompileResult {
  const env = environmentFor(options.variables);
  let evaluator: Evaluator;
  let shape: CostShape;
  try {
    evaluator = env.parse(expression) as Evaluator;
    shape = costShapeOf(evaluator.ast);
    routeMatchesToRe2(evaluator.ast);
    const checked = (evaluator as unknown as { check(): { valid: boolean; error?: unknown } }).check();
    if (!checked.valid) return { ok: false, error: celErrorText(checked.error) };
    const badPattern = invalidMatchesLiteral(evaluator.ast);
    if (badPattern !== undefined) return { ok: false, error: badPattern };
  } catch (err) {
    return { ok: false, error: celErrorText(err) };
  }
  return {
    ok: true,
    program: {
      expression,
      shape,
      evaluate(bindings, evaluateOptions = {}) {
        const limit = evaluateOptions.costLimit ?? perCallCostLimit;
        const largest =
          shape.loopDepth === 0
            ? 0
            : (evaluateOptions.largestInput ??
              Math.max(0, ...Object.values(bindings).map((v) => largestCollection(v))));
        const cost = costBound(shape, largest);
        if (cost > limit) return { ok: false, error: costLimitExceeded, cost, costExceeded: true };
        try {
          return { ok: true, value: evaluator(bindings as Record<string, unknown>), cost };
        } catch (err) {
          return { ok: false, error: celErrorText(err), cost };
        }
      },
    },
  };
}
