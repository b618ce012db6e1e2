/**
 * Resource quantities ("250m", "1.5", "64Mi", "1e3") as plain numbers. The agent needs them for
 * CRI resources (CPU shares and quota from millicores, memory limits in bytes), QoS, and env
 * values from resourceFieldRef; it never needs to print them back in canonical form, so a number
 * is enough. Values round up where the API rounds up (a CPU request of 0.0001 is 1m).
 */

const decimalSuffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};
const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const pattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

export class QuantityError extends Error {
  readonly code = 'AGENT_BAD_QUANTITY';
}

/** The quantity's value in base units (cores, bytes). Throws QuantityError on malformed input. */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = pattern.exec(value.trim());
  if (match === null) throw new QuantityError(`"${value}" is not a quantity (like 250m, 1.5, 64Mi)`);
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return number * (binarySuffixes[suffix] ?? decimalSuffixes[suffix]!);
}

/** CPU in millicores, rounded up as the API does. */
export function milliCpu(value: string | number): number {
  return Math.ceil(Math.round(parseQuantity(value) * 1e9) / 1e6);
}

/** Bytes, rounded up. */
export function bytesOf(value: string | number): number {
  return Math.ceil(parseQuantity(value));
}
