/**
 * What a CEL expression may cost. Upstream counts the steps cel-go's interpreter takes and stops a
 * rule at 1,000,000 (`PerCallLimit`), and a whole object's rules at 10,000,000
 * (`RuntimeCELCostBudget`); the library here has no step counter, so the cost is bounded from the
 * expression's shape and the sizes of the values it runs on: every node of the expression once,
 * times the size of the largest list, map or string for each level of comprehension (`all`,
 * `exists`, `filter`, `map`, ...) it nests. The bound is known before evaluation, so an expensive
 * rule is refused without being run.
 */

/** Upstream's limit for one evaluation of one expression. */
export const perCallCostLimit = 1_000_000;
/** Upstream's budget for all rules of one object (a CRD write). */
export const objectCostBudget = 10_000_000;

const comprehensionMacros = new Set(['all', 'exists', 'exists_one', 'filter', 'map', 'sortBy']);
/** Functions that walk their whole receiver or argument (string search, list folds, regexes). */
const linearFunctions = new Set([
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'find',
  'findAll',
  'split',
  'join',
  'replace',
  'indexOf',
  'lastIndexOf',
  'lowerAscii',
  'upperAscii',
  'trim',
  'isSorted',
  'sum',
  'min',
  'max',
]);

/** The parts of an expression's syntax tree that its cost depends on. */
export interface CostShape {
  /** Nodes in the syntax tree. */
  readonly nodes: number;
  /** How deeply comprehensions (and functions that walk a whole value) nest. */
  readonly loopDepth: number;
  /** How deeply comprehensions alone nest (loops over list and map items). */
  readonly comprehensionDepth: number;
}

interface AstNode {
  readonly op: string;
  readonly args: unknown;
}

const isAstNode = (value: unknown): value is AstNode =>
  value !== null && typeof value === 'object' && typeof (value as { op?: unknown }).op === 'string';

/** Nodes and loop nesting of a parsed expression (the library's syntax tree). */
export function costShapeOf(ast: unknown): CostShape {
  let nodes = 0;
  const depthOf = (value: unknown, counts: (name: string) => boolean): number => {
    if (Array.isArray(value)) return Math.max(0, ...value.map((v) => depthOf(v, counts)));
    if (!isAstNode(value)) return 0;
    nodes++;
    const inner = depthOf(value.args, counts);
    if (value.op === 'rcall' || value.op === 'call') {
      const name = Array.isArray(value.args) ? value.args[0] : undefined;
      if (typeof name === 'string' && counts(name)) return inner + 1;
    }
    return inner;
  };
  const loopDepth = depthOf(ast, (name) => comprehensionMacros.has(name) || linearFunctions.has(name));
  const counted = nodes;
  const comprehensionDepth = depthOf(ast, (name) => comprehensionMacros.has(name));
  return { nodes: counted, loopDepth, comprehensionDepth };
}

/** The cost bound of one evaluation, given the largest collection or string among its inputs. */
export function costBound(shape: CostShape, largestInput: number): number {
  return shape.nodes * (Math.max(1, largestInput) + 1) ** shape.loopDepth;
}

/** The size of the largest list, map or string anywhere in `value`, walked at most `depthLimit` deep. */
export function largestCollection(value: unknown, depthLimit = 64): number {
  // upstream charges a tenth of a step per byte of a string it scans
  if (typeof value === 'string') return Math.ceil(value.length / 10);
  if (depthLimit === 0 || value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) {
    let largest = value.length;
    for (const item of value) largest = Math.max(largest, largestCollection(item, depthLimit - 1));
    return largest;
  }
  if (value instanceof Uint8Array) return value.length;
  let largest = 0;
  let entries = 0;
  for (const key in value) {
    entries++;
    largest = Math.max(largest, largestCollection((value as Record<string, unknown>)[key], depthLimit - 1));
  }
  return Math.max(largest, entries);
}
