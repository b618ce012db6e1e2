/**
 * Resource quantities ("250m", "1.5", "64Mi", "1e3") read as plain numbers, for code on either side
 * of the API that compares or sums requests (the scheduler's fit checks, the kubelet's CRI limits).
 * Nothing here prints a quantity back in canonical form, so a JavaScript number is enough: the
 * values that matter (millicores, bytes up to exabytes) stay exact well within 2^53 after rounding.
 */
import type { Quantity } from './corev1.ts';
import { QuantityError } from './errors.ts';

const multipliers: ReadonlyMap<string, number> = new Map([
  ['n', 1e-9],
  ['u', 1e-6],
  ['m', 1e-3],
  ['', 1],
  ['k', 1e3],
  ['M', 1e6],
  ['G', 1e9],
  ['T', 1e12],
  ['P', 1e15],
  ['E', 1e18],
  ['Ki', 1024],
  ['Mi', 1024 ** 2],
  ['Gi', 1024 ** 3],
  ['Ti', 1024 ** 4],
  ['Pi', 1024 ** 5],
  ['Ei', 1024 ** 6],
]);

// sign, digits with an optional fraction, then either a decimal exponent or a suffix (or neither).
const grammar = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|([numkMGTPE]|[KMGTPE]i))?$/;

function quantityError(input: string): QuantityError {
  return new QuantityError(
    input,
    `quantities must match the regular expression '${grammar.source}': "${input}" does not`,
  );
}

/** The value in base units (cores, bytes, counts). Throws QuantityError for anything malformed. */
export function parseQuantity(value: Quantity): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw quantityError(String(value));
    return value;
  }
  const match = grammar.exec(value.trim());
  if (match === null) throw quantityError(value);
  const [, sign, digits, exponent, suffix] = match;
  const magnitude =
    exponent !== undefined ? Number(`${digits}e${exponent}`) : Number(digits) * multipliers.get(suffix ?? '')!;
  return sign === '-' ? -magnitude : magnitude;
}

/**
 * CPU in millicores. The API keeps at most milli precision and rounds a finer value up, so "0.0001"
 * is 1m. The intermediate rounding to nanocores hides binary-fraction noise (0.1 * 1000 is not 100
 * exactly in floating point, and must not become 101).
 */
export function milliCpu(value: Quantity): number {
  const nanos = Math.round(parseQuantity(value) * 1e9);
  return Math.ceil(nanos / 1e6);
}

/** Bytes (or any integer resource: pods, ephemeral-storage), rounded up to a whole unit. */
export function wholeUnits(value: Quantity): number {
  const parsed = parseQuantity(value);
  if (Number.isInteger(parsed)) return parsed;
  // Same noise guard as for CPU: "1.1k" must be 1100, not 1101.
  return Math.ceil(Math.round(parsed * 1e3) / 1e3);
}

/** The one resource that is counted in millis; every other resource is whole units. */
export function resourceAmount(resource: string, value: Quantity): number {
  return resource === 'cpu' ? milliCpu(value) : wholeUnits(value);
}
