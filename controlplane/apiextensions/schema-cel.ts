/**
 * The `x-kubernetes-validations` rules of a schema, compiled once when the CustomResourceDefinition
 * is read and run on every write: at each node that has rules, `self` is the value there and, for a
 * rule that names `oldSelf` (a transition rule), `oldSelf` is the stored value at the same place,
 * so such a rule runs only on an update that has one. A rule that does not hold is a field error
 * with its message, its messageExpression's result, or `failed rule: <rule>`; the cost of all rules
 * of one object is bounded by upstream's budget.
 */
import { objectCostBudget, perCallCostLimit } from '../cel/cost.ts';
import { type CelProgram, compileCel } from '../cel/program.ts';
import { celValueFromJson } from '../cel/values.ts';
import type { FieldErrors } from '../validation/field-errors.ts';
import { sameValue } from './ratcheting.ts';
import { isPlainRecord, type JsonSchema, mapValueSchema, type ValidationRule } from './schema-types.ts';

const ruleVariables = ['self', 'oldSelf'];

interface CompiledRule {
  readonly rule: ValidationRule;
  readonly program: CelProgram;
  readonly message: CelProgram | undefined;
  readonly transition: boolean;
}

/** The rules of one schema node and of the nodes below it that have any. */
export interface RuleTree {
  readonly schema: JsonSchema;
  readonly rules: readonly CompiledRule[];
  readonly properties: ReadonlyMap<string, RuleTree>;
  readonly items: RuleTree | undefined;
  readonly values: RuleTree | undefined;
}

/** A rule that does not compile, at its path in the schema (for the CRD's own validation). */
export interface RuleCompileError {
  readonly path: string;
  readonly value: string;
  readonly message: string;
}

const namesOldSelf = (expression: string) => /\boldSelf\b/.test(expression);

/** Compiles every rule of `schema`; undefined when there are none. Errors go to `problems`. */
export function compileRules(
  schema: JsonSchema,
  path: string,
  problems: RuleCompileError[] = [],
): RuleTree | undefined {
  const rules: CompiledRule[] = [];
  (schema['x-kubernetes-validations'] ?? []).forEach((rule, i) => {
    const at = `${path}.x-kubernetes-validations[${i}]`;
    const compiled = compileCel(rule.rule ?? '', { variables: ruleVariables });
    if (!compiled.ok) {
      problems.push({
        path: `${at}.rule`,
        value: rule.rule,
        message: `compilation failed: ERROR: <input>: ${compiled.error}`,
      });
      return;
    }
    let message: CelProgram | undefined;
    if (rule.messageExpression !== undefined && rule.messageExpression !== '') {
      const messageCompiled = compileCel(rule.messageExpression, { variables: ruleVariables });
      if (!messageCompiled.ok) {
        problems.push({
          path: `${at}.messageExpression`,
          value: rule.messageExpression,
          message: `messageExpression compilation failed: ERROR: <input>: ${messageCompiled.error}`,
        });
        return;
      }
      message = messageCompiled.program;
    }
    rules.push({
      rule,
      program: compiled.program,
      message,
      transition: namesOldSelf(rule.rule) || namesOldSelf(rule.messageExpression ?? ''),
    });
  });
  const properties = new Map<string, RuleTree>();
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const tree = compileRules(child, `${path}.properties[${key}]`, problems);
    if (tree !== undefined) properties.set(key, tree);
  }
  const items = schema.items === undefined ? undefined : compileRules(schema.items, `${path}.items`, problems);
  const valueSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  const values =
    valueSchema === undefined ? undefined : compileRules(valueSchema, `${path}.additionalProperties`, problems);
  if (rules.length === 0 && properties.size === 0 && items === undefined && values === undefined) return undefined;
  return { schema, rules, properties, items, values };
}

/** CEL's view of a value under its schema: integers (and int-or-string numbers) as ints, numbers as doubles. */
function celValue(value: unknown, schema: JsonSchema): unknown {
  if (typeof value === 'number')
    return schema.type === 'integer' || schema['x-kubernetes-int-or-string'] === true
      ? BigInt(Math.trunc(value))
      : value;
  if (Array.isArray(value)) {
    const items = schema.items;
    return value.map((item) => (items === undefined ? celValueFromJson(item) : celValue(item, items)));
  }
  if (isPlainRecord(value)) {
    const out: Record<string, unknown> = {};
    const values = mapValueSchema(schema);
    for (const [key, item] of Object.entries(value)) {
      const child = schema.properties?.[key] ?? values;
      out[key] = child === undefined ? celValueFromJson(item) : celValue(item, child);
    }
    return out;
  }
  return value;
}

/** One object's run of rules: where errors go, and the cost left in its budget. */
interface Run {
  readonly errors: FieldErrors;
  remaining: number;
}

/** Runs the rules of `tree` on `value` (and `old`, the stored value, on updates); appends field errors. */
export function runRules(errors: FieldErrors, tree: RuleTree, path: string, value: unknown, old: unknown): void {
  walk({ errors, remaining: objectCostBudget }, tree, path, value, old);
}

function walk(run: Run, tree: RuleTree, path: string, value: unknown, old: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (tree.rules.length > 0 && !evaluateNode(run, tree, path, value, old)) return false;
  if (isPlainRecord(value)) {
    for (const [key, child] of tree.properties) {
      const oldChild = isPlainRecord(old) ? old[key] : undefined;
      if (!walk(run, child, path === '' ? key : `${path}.${key}`, value[key], oldChild)) return false;
    }
    if (tree.values !== undefined) {
      for (const [key, item] of Object.entries(value)) {
        const oldItem = isPlainRecord(old) ? old[key] : undefined;
        if (!walk(run, tree.values, `${path}[${key}]`, item, oldItem)) return false;
      }
    }
  } else if (Array.isArray(value) && tree.items !== undefined) {
    for (const [i, item] of value.entries()) if (!walk(run, tree.items, `${path}[${i}]`, item, undefined)) return false;
  }
  return true;
}

/** The schema type upstream shows as the "value" of a rule's error. */
function shownType(schema: JsonSchema): string {
  return schema['x-kubernetes-int-or-string'] === true ? 'integer-or-string' : (schema.type ?? 'object');
}

/** false: the budget ran out and no further rule may run. */
function evaluateNode(run: Run, tree: RuleTree, path: string, value: unknown, old: unknown): boolean {
  const { errors } = run;
  const self = celValue(value, tree.schema);
  const oldSelf = old === undefined || old === null ? undefined : celValue(old, tree.schema);
  // ratcheting: a value the update leaves as it was is not judged again by the rules that judge values alone
  const unchanged = old !== undefined && sameValue(value, old);
  for (const compiled of tree.rules) {
    if (compiled.transition && oldSelf === undefined) continue;
    if (!compiled.transition && unchanged) continue;
    const bindings = oldSelf === undefined ? { self } : { self, oldSelf };
    const fieldPath = fieldPathOf(path, compiled.rule.fieldPath);
    const result = compiled.program.evaluate(bindings, { costLimit: Math.min(run.remaining, perCallCostLimit) });
    run.remaining -= result.cost;
    if (!result.ok) {
      if (result.costExceeded === true) {
        errors.invalid(
          fieldPath,
          shownType(tree.schema),
          `'${result.error}': no further validation rules will be run due to call cost exceeds limit for rule: ${ruleText(compiled.rule)}`,
        );
        return false;
      }
      errors.invalid(fieldPath, shownType(tree.schema), `${result.error} evaluating rule: ${ruleText(compiled.rule)}`);
      continue;
    }
    if (result.value === true) continue;
    const message = messageOf(compiled, bindings);
    switch (compiled.rule.reason) {
      case 'FieldValueForbidden':
        errors.forbidden(fieldPath, message);
        break;
      case 'FieldValueRequired':
        errors.required(fieldPath, message);
        break;
      case 'FieldValueDuplicate':
        errors.duplicate(fieldPath, shownType(tree.schema));
        break;
      default:
        errors.invalid(fieldPath, shownType(tree.schema), message);
    }
  }
  return true;
}

function fieldPathOf(path: string, relative: string | undefined): string {
  if (relative === undefined || relative === '') return path;
  return relative.startsWith('.') || relative.startsWith('[') ? `${path}${relative}` : `${path}.${relative}`;
}

const ruleText = (rule: ValidationRule): string => rule.message?.trim() || rule.rule.trim();

/** The message of a failed rule: messageExpression's string when it yields one, else message, else the rule. */
function messageOf(compiled: CompiledRule, bindings: Record<string, unknown>): string {
  if (compiled.message !== undefined) {
    const result = compiled.message.evaluate(bindings);
    if (result.ok && typeof result.value === 'string' && result.value.trim() !== '' && !result.value.includes('\n'))
      return result.value.trim();
  }
  return compiled.rule.message?.trim() || `failed rule: ${compiled.rule.rule.trim()}`;
}
