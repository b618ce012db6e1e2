/**
 * Quantity fields (resources, emptyDir sizeLimit, quotas, limit ranges): the Kubernetes quantity
 * grammar, and never negative where upstream says so.
 */
import { parseQuantity } from '../../kube/quantity.ts';
import type { FieldErrors } from './field-errors.ts';
import { isSet, objectAt } from './fields.ts';

const quantityGrammar = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The quantity's value in base units, or undefined when it is absent or malformed (reported). */
export function checkQuantity(
  errors: FieldErrors,
  path: string,
  value: unknown,
  nonNegative = true,
): number | undefined {
  if (!isSet(value)) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    errors.wrongType(path, value, 'string');
    return undefined;
  }
  let amount: number;
  try {
    amount = parseQuantity(value);
  } catch {
    errors.invalid(path, value, quantityGrammar);
    return undefined;
  }
  if (nonNegative && amount < 0) errors.invalid(path, value, 'must be greater than or equal to 0');
  return amount;
}

/** A resource list (`{cpu: "100m", memory: "64Mi"}`) with its amounts by resource name. */
export function checkResourceList(errors: FieldErrors, path: string, value: unknown): Map<string, number> {
  const amounts = new Map<string, number>();
  const list = objectAt(errors, path, value);
  for (const [name, quantity] of Object.entries(list ?? {})) {
    const amount = checkQuantity(errors, `${path}[${name}]`, quantity);
    if (amount !== undefined) amounts.set(name, amount);
  }
  return amounts;
}
