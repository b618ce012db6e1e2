/**
 * JSON values as CEL sees them. CEL tells `int` (a JS bigint here) from `double` (a JS number):
 * `self.replicas / 2` is 1 for replicas 3, and `string(self.replicas)` is "3", never "3.0". A
 * JSON number carries no such type, so the caller that knows the schema says which numbers are
 * integers; without a schema, an integral number is an int (what a JSON-decoded int64 is upstream).
 */

/** Says whether the number at `path` (JSON keys and list indexes from the root) is an integer. */
type IntegerTest = (value: number) => boolean;

const integralNumbers: IntegerTest = (value) => Number.isInteger(value);

/** A copy of `value` with integers as bigint; objects stay plain objects (CEL maps). */
export function celValueFromJson(value: unknown, isInteger: IntegerTest = integralNumbers): unknown {
  if (typeof value === 'number') return isInteger(value) && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((item) => celValueFromJson(item, isInteger));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = celValueFromJson(item, isInteger);
    return out;
  }
  return value;
}

/** A CEL result as JSON: ints back to numbers (strings when beyond 2^53, as JSON cannot hold them). */
export function jsonFromCelValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    const asNumber = Number(value);
    return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
  }
  if (Array.isArray(value)) return value.map(jsonFromCelValue);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonFromCelValue(v)]));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonFromCelValue(v)]));
  }
  return value;
}
