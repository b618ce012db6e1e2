/**
 * What a CustomResourceDefinition's CEL rules may cost at most, judged when the definition is
 * written, as upstream judges it: a rule is refused when its cost on the largest object the schema
 * allows is over 10,000,000 (the size of lists and maps comes from maxItems and maxProperties;
 * without them, from what a 3 MiB request could hold), and a rule under a list counts once per
 * item the list may have. Only loops over items multiply the estimate: a string function costs at
 * most a tenth of 3 MiB, never enough to refuse a rule alone, so strings are left out (this bound
 * is looser than upstream's, never stricter).
 */
import { costBound } from '../cel/cost.ts';
import type { RuleTree } from './schema-cel.ts';
import { type JsonSchema, mapValueSchema } from './schema-types.ts';

/** Upstream's StaticEstimatedCostLimit, per rule. */
const ruleCostLimit = 10_000_000;
/** The most items (or characters) a 3 MiB request can carry when the schema does not bound them. */
const unbounded = Math.floor((3 * 1024 * 1024) / 3);

/** The largest list or map below a schema node. */
function largestUnder(schema: JsonSchema, depth = 0): number {
  if (depth > 32) return 0;
  let largest = 0;
  if (schema.type === 'array' || schema.items !== undefined) {
    largest = Math.max(largest, schema.maxItems ?? unbounded);
    if (schema.items !== undefined) largest = Math.max(largest, largestUnder(schema.items, depth + 1));
  }
  const values = schema.properties === undefined ? mapValueSchema(schema) : undefined;
  if (values !== undefined)
    largest = Math.max(largest, schema.maxProperties ?? unbounded, largestUnder(values, depth + 1));
  for (const child of Object.values(schema.properties ?? {}))
    largest = Math.max(largest, largestUnder(child, depth + 1));
  return largest;
}

interface CostProblem {
  readonly path: string;
  readonly message: string;
}

function factor(cost: number): string {
  const times = cost / ruleCostLimit;
  return times > 100 ? 'more than 100x' : `${times.toFixed(1)}x`;
}

/** Rules whose estimated cost is over the limit, with upstream's explanation, by path. */
export function expensiveRules(tree: RuleTree, path: string, repeat = 1, out: CostProblem[] = []): CostProblem[] {
  tree.schema['x-kubernetes-validations']?.forEach((rule, i) => {
    const compiled = tree.rules.find((r) => r.rule === rule);
    if (compiled === undefined) return;
    const { nodes, comprehensionDepth } = compiled.program.shape;
    const cost =
      costBound({ nodes, loopDepth: comprehensionDepth, comprehensionDepth }, largestUnder(tree.schema)) * repeat;
    if (cost > ruleCostLimit)
      out.push({
        path: `${path}.x-kubernetes-validations[${i}].rule`,
        message: `estimated rule cost exceeds budget by factor of ${factor(cost)} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`,
      });
  });
  for (const [key, child] of tree.properties) expensiveRules(child, `${path}.properties[${key}]`, repeat, out);
  if (tree.items !== undefined)
    expensiveRules(tree.items, `${path}.items`, repeat * (tree.schema.maxItems ?? unbounded), out);
  if (tree.values !== undefined)
    expensiveRules(tree.values, `${path}.additionalProperties`, repeat * (tree.schema.maxProperties ?? unbounded), out);
  return out;
}
