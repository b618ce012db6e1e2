/**
 * The rules upstream's batch validation applies to the Job fields that came with Indexed Jobs and
 * failure handling: completionMode, backoffLimitPerIndex / maxFailedIndexes, podFailurePolicy,
 * successPolicy and podReplacementPolicy, each worded as upstream words it.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, isObject, isSet, objectAt, objectsOf, type Any } from './fields.ts';
import { qualifiedName } from '../../kube/name-formats.ts';

const maxIndexedParallelism = 100_000;
const maxFailedIndexesLimit = 100_000;
const completionsSoftLimit = 100_000;
const highCompletionsLimit = 10_000;
const maxPolicyRules = 20;
const maxExitCodeValues = 255;
const maxConditionPatterns = 20;
const maxSuccessRules = 20;
const maxSucceededIndexesLength = 64 * 1024;
const failureActions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
const exitCodeOperators = ['In', 'NotIn'];
const conditionStatuses = ['False', 'True', 'Unknown'];

/**
 * How many indexes a compressed list ("0,3-5") names, or what is wrong with it: each part a number
 * or a range of two, below completions, strictly increasing (upstream's validateIndexesFormat).
 */
export function indexListProblem(text: string, completions: number): { count: number } | { problem: string } {
  if (text === '') return { count: 0 };
  let previous: number | undefined;
  let count = 0;
  for (const part of text.split(',')) {
    const limits = part.split('-');
    if (limits.length > 2)
      return {
        problem: `the fragment "${part}" violates the requirement that an index interval can have at most two parts separated by '-'`,
      };
    const numbers: number[] = [];
    for (const limit of limits) {
      if (!/^[+-]?\d+$/.test(limit)) return { problem: `cannot convert string to integer for index: "${limit}"` };
      const value = Number(limit);
      if (value >= completions) return { problem: `too large index: "${limit}"` };
      numbers.push(value);
    }
    const [first, last = first] = numbers as [number, number?];
    if (previous !== undefined && previous >= first)
      return { problem: `non-increasing order, previous: ${previous}, current: ${first}` };
    if (last !== first && first >= last!)
      return { problem: `non-increasing order, previous: ${first}, current: ${last}` };
    count += last! - first + 1;
    previous = last;
  }
  return { count };
}

function validateIndexedLimits(errors: FieldErrors, path: string, spec: Any): void {
  const indexed = spec.completionMode === 'Indexed';
  if (indexed) {
    if (!isSet(spec.completions)) errors.required(`${path}.completions`, 'when completion mode is Indexed');
    if (typeof spec.parallelism === 'number' && spec.parallelism > maxIndexedParallelism)
      errors.invalid(
        `${path}.parallelism`,
        spec.parallelism,
        `must be less than or equal to ${maxIndexedParallelism} when completion mode is Indexed`,
      );
    const max = spec.maxFailedIndexes;
    if (typeof max === 'number' && typeof spec.completions === 'number' && max > spec.completions)
      errors.invalid(`${path}.maxFailedIndexes`, max, 'must be less than or equal to completions');
    if (typeof max === 'number' && max > maxFailedIndexesLimit)
      errors.invalid(`${path}.maxFailedIndexes`, max, `must be less than or equal to ${maxFailedIndexesLimit}`);
    if (
      typeof spec.completions === 'number' &&
      spec.completions > completionsSoftLimit &&
      isSet(spec.backoffLimitPerIndex)
    ) {
      const tail = `when completions are above ${completionsSoftLimit} and used with backoff limit per index`;
      if (!isSet(max))
        errors.required(
          `${path}.maxFailedIndexes`,
          `must be specified when completions is above ${completionsSoftLimit}`,
        );
      if (typeof spec.parallelism === 'number' && spec.parallelism > highCompletionsLimit)
        errors.invalid(
          `${path}.parallelism`,
          spec.parallelism,
          `must be less than or equal to ${highCompletionsLimit} ${tail}`,
        );
      if (typeof max === 'number' && max > highCompletionsLimit)
        errors.invalid(
          `${path}.maxFailedIndexes`,
          max,
          `must be less than or equal to ${highCompletionsLimit} ${tail}`,
        );
    }
  } else {
    if (isSet(spec.backoffLimitPerIndex))
      errors.invalid(`${path}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, 'requires indexed completion mode');
    if (isSet(spec.maxFailedIndexes))
      errors.invalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, 'requires indexed completion mode');
  }
  if (isSet(spec.maxFailedIndexes) && !isSet(spec.backoffLimitPerIndex))
    errors.required(`${path}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified');
}

function containerNames(spec: Any): Set<string> {
  const podSpec: unknown = isObject(spec.template) ? spec.template.spec : undefined;
  if (!isObject(podSpec)) return new Set();
  const all = [
    ...(Array.isArray(podSpec.containers) ? podSpec.containers : []),
    ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : []),
  ];
  return new Set(all.filter(isObject).map((c) => c.name));
}

function validateExitCodes(errors: FieldErrors, path: string, onExitCodes: Any, names: Set<string>): void {
  const operator = onExitCodes.operator;
  if (!isSet(operator) || operator === '')
    errors.required(`${path}.operator`, `valid values: ["${exitCodeOperators.join('" "')}"]`);
  else checkEnum(errors, `${path}.operator`, operator, exitCodeOperators);
  if (isSet(onExitCodes.containerName) && !names.has(onExitCodes.containerName))
    errors.invalid(
      `${path}.containerName`,
      onExitCodes.containerName,
      'must be one of the container or initContainer names in the pod template',
    );
  const values: unknown[] = Array.isArray(onExitCodes.values) ? onExitCodes.values : [];
  if (values.length === 0) errors.invalid(`${path}.values`, values, 'at least one value is required');
  else if (values.length > maxExitCodeValues) errors.tooMany(`${path}.values`, values.length, maxExitCodeValues);
  const seen = new Set<number>();
  let ordered = true;
  values.forEach((value, j) => {
    if (!checkInteger(errors, `${path}.values[${j}]`, value)) return;
    if (operator === 'In' && value === 0)
      errors.invalid(`${path}.values[${j}]`, value, 'must not be 0 for the In operator');
    if (seen.has(value)) errors.duplicate(`${path}.values[${j}]`, value);
    seen.add(value);
    if (j > 0 && typeof values[j - 1] === 'number' && (values[j - 1] as number) > value) ordered = false;
  });
  if (!ordered) errors.invalid(`${path}.values`, values, 'must be ordered');
}

function validateConditionPatterns(errors: FieldErrors, path: string, patterns: Array<[Any, string]>): void {
  if (patterns.length > maxConditionPatterns) errors.tooMany(path, patterns.length, maxConditionPatterns);
  for (const [pattern, at] of patterns) {
    const type = typeof pattern.type === 'string' ? pattern.type : '';
    errors.invalidEach(`${at}.type`, type, qualifiedName(type));
    if (!isSet(pattern.status) || pattern.status === '')
      errors.required(`${at}.status`, `valid values: ["${conditionStatuses.join('" "')}"]`);
    else checkEnum(errors, `${at}.status`, pattern.status, conditionStatuses);
  }
}

function validatePodFailurePolicy(errors: FieldErrors, path: string, spec: Any, policy: Any): void {
  const rules = objectsOf(errors, `${path}.rules`, policy.rules);
  if (rules.length > maxPolicyRules) errors.tooMany(`${path}.rules`, rules.length, maxPolicyRules);
  const names = containerNames(spec);
  for (const [rule, at] of rules) {
    const action = rule.action;
    if (!isSet(action) || action === '')
      errors.required(`${at}.action`, `valid values: ["${failureActions.join('" "')}"]`);
    else if (action === 'FailIndex') {
      if (!isSet(spec.backoffLimitPerIndex))
        errors.invalid(`${at}.action`, action, 'requires the backoffLimitPerIndex to be set');
    } else checkEnum(errors, `${at}.action`, action, failureActions);
    const onExitCodes = objectAt(errors, `${at}.onExitCodes`, rule.onExitCodes);
    if (onExitCodes) validateExitCodes(errors, `${at}.onExitCodes`, onExitCodes, names);
    const patterns = objectsOf(errors, `${at}.onPodConditions`, rule.onPodConditions);
    if (patterns.length > 0) validateConditionPatterns(errors, `${at}.onPodConditions`, patterns);
    if (onExitCodes && patterns.length > 0)
      errors.invalidCombination(at, 'specifying both OnExitCodes and OnPodConditions is not supported');
    if (!onExitCodes && patterns.length === 0)
      errors.invalidCombination(at, 'specifying one of OnExitCodes and OnPodConditions is required');
  }
}

function validateSuccessPolicy(errors: FieldErrors, path: string, spec: Any, policy: Any): void {
  const rules = objectsOf(errors, `${path}.rules`, policy.rules);
  if (rules.length === 0)
    errors.required(`${path}.rules`, 'at least one rules must be specified when the successPolicy is specified');
  if (rules.length > maxSuccessRules) errors.tooMany(`${path}.rules`, rules.length, maxSuccessRules);
  const completions = typeof spec.completions === 'number' ? spec.completions : 0;
  for (const [rule, at] of rules) {
    if (!isSet(rule.succeededCount) && !isSet(rule.succeededIndexes))
      errors.required(at, 'at least one of succeededCount or succeededIndexes must be specified');
    let named = 0;
    if (typeof rule.succeededIndexes === 'string') {
      if (rule.succeededIndexes.length > maxSucceededIndexesLength)
        errors.tooLong(`${at}.succeededIndexes`, maxSucceededIndexesLength);
      const parsed = indexListProblem(rule.succeededIndexes, completions);
      if ('problem' in parsed)
        errors.invalid(
          `${at}.succeededIndexes`,
          rule.succeededIndexes,
          `error parsing succeededIndexes: ${parsed.problem}`,
        );
      else named = parsed.count;
    }
    if (checkInteger(errors, `${at}.succeededCount`, rule.succeededCount, { min: 0 })) {
      const count = rule.succeededCount as number;
      if (count > completions)
        errors.invalid(
          `${at}.succeededCount`,
          count,
          `must be less than or equal to ${completions} (the number of specified completions)`,
        );
      if (isSet(rule.succeededIndexes) && count > named)
        errors.invalid(
          `${at}.succeededCount`,
          count,
          `must be less than or equal to ${named} (the number of indexes in the specified succeededIndexes field)`,
        );
    }
  }
}

/** The Job spec rules for Indexed Jobs and failure/success policies (the rest is in batch.ts). */
export function validateJobPolicies(errors: FieldErrors, path: string, spec: Any): void {
  validateIndexedLimits(errors, path, spec);
  const failurePolicy = objectAt(errors, `${path}.podFailurePolicy`, spec.podFailurePolicy);
  if (failurePolicy) validatePodFailurePolicy(errors, `${path}.podFailurePolicy`, spec, failurePolicy);
  const successPolicy = objectAt(errors, `${path}.successPolicy`, spec.successPolicy);
  if (successPolicy) {
    if (spec.completionMode !== 'Indexed')
      errors.invalid(`${path}.successPolicy`, successPolicy, 'requires indexed completion mode');
    else validateSuccessPolicy(errors, `${path}.successPolicy`, spec, successPolicy);
  }
  if (isSet(spec.podReplacementPolicy)) {
    if (failurePolicy) checkEnum(errors, `${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed']);
    else
      checkEnum(errors, `${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed', 'TerminatingOrFailed']);
  }
  // Only Never lets the Job see which container failed how (upstream's rule).
  const restartPolicy: unknown =
    isObject(spec.template) && isObject(spec.template.spec) ? spec.template.spec.restartPolicy : undefined;
  if (failurePolicy && restartPolicy === 'OnFailure')
    errors.invalid(
      `${path}.template.spec.restartPolicy`,
      restartPolicy,
      'only "Never" is supported when podFailurePolicy is specified',
    );
}
