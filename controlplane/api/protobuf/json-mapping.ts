/**
 * Between a Kubernetes object's JSON form and its protobuf message, as upstream's types marshal:
 * - metav1.Time is {seconds, nanos} and JSON's RFC 3339 to the second; MicroTime to the microsecond;
 *   a zero time is JSON null, which an object leaves out;
 * - IntOrString is {type, intVal, strVal} and a JSON number or string; Quantity is its string;
 * - RawExtension and FieldsV1 carry their JSON text as bytes; bytes fields are base64 in JSON;
 * - metav1.Duration is int64 nanoseconds and JSON's Go duration text ("15.004s");
 * - wrappers of one repeated 'items' field (ExtraValue, Verbs) are plain JSON arrays;
 * - embedded structs ((inline) in the schema) lift their fields into the parent's JSON;
 * - a field whose JSON name is no protobuf identifier ($schema, x-kubernetes-*) says it with (json);
 * - a CRD schema's unions are one JSON value of either shape: JSONSchemaPropsOrArray a schema or an
 *   array of them, OrBool a boolean or a schema, OrStringArray a schema or an array of strings;
 * - a scalar left at its zero value is left out of JSON (omitempty) unless the schema marks it
 *   (keep_zero): Go pointers, where zero means something (replicas: 0), and fields without omitempty.
 * Both directions build new values and never touch their input. They walk the keys that are there
 * (an object sets a few of a PodSpec's forty fields), not the schema's fields.
 */
import { formatGoDuration, parseGoDuration } from '../../../kube/go-duration.ts';
import type { MessageType } from './descriptors.ts';

type Json = Record<string, unknown>;
type Field = MessageType['fieldsArray'][number];

const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const apiextensions = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';
const specialTypes: Readonly<Record<string, Special>> = {
  [`${meta}.Time`]: 'time',
  [`${meta}.MicroTime`]: 'microTime',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'intOrString',
  'k8s.io.apimachinery.pkg.api.resource.Quantity': 'quantity',
  'k8s.io.apimachinery.pkg.runtime.RawExtension': 'rawExtension',
  [`${meta}.FieldsV1`]: 'fieldsV1',
  // apiextensions' JSON carries its text in a `raw` field, as RawExtension does
  [`${apiextensions}.JSON`]: 'rawExtension',
  [`${apiextensions}.JSONSchemaPropsOrArray`]: 'schemaOrArray',
  [`${apiextensions}.JSONSchemaPropsOrBool`]: 'schemaOrBool',
  [`${apiextensions}.JSONSchemaPropsOrStringArray`]: 'schemaOrStrings',
  [`${meta}.Duration`]: 'duration',
};
type Special =
  | 'time'
  | 'microTime'
  | 'intOrString'
  | 'quantity'
  | 'rawExtension'
  | 'fieldsV1'
  | 'duration'
  | 'list'
  | 'schemaOrArray'
  | 'schemaOrBool'
  | 'schemaOrStrings';

/** What the mapping needs of one message, worked out once per message. */
interface Plan {
  readonly special: Special | undefined;
  /**
   * JSON name → the field, and the inline fields that hold it when it is lifted from one (outermost
   * first: admissionregistration's NamedRuleWithOperations inlines RuleWithOperations, which
   * inlines Rule).
   */
  readonly byJsonName: ReadonlyMap<string, { readonly field: Field; readonly via: readonly Field[] }>;
}

const plans = new WeakMap<MessageType, Plan>();
const option = (field: Field, name: string): boolean => field.options?.[`(${name})`] === true;
/** The field's JSON name: its own name unless the schema names another. */
const jsonNameOf = (field: Field): string => {
  const named = field.options?.['(json)'];
  return typeof named === 'string' ? named : field.name;
};
const messageOf = (field: Field): MessageType | undefined => {
  const type = field.resolvedType;
  return type !== null && 'fieldsArray' in type ? (type as MessageType) : undefined;
};

function planOf(type: MessageType): Plan {
  let plan = plans.get(type);
  if (plan === undefined) {
    const byJsonName = new Map<string, { field: Field; via: readonly Field[] }>();
    const lift = (message: MessageType, via: readonly Field[]): void => {
      for (const field of message.fieldsArray) {
        const inner = option(field, 'inline') ? messageOf(field) : undefined;
        if (inner === undefined) byJsonName.set(jsonNameOf(field), { field, via });
        else lift(inner, [...via, field]);
      }
    };
    lift(type, []);
    const special =
      specialTypes[type.fullName.replace(/^\./, '')] ?? (type.options?.['(json_list)'] === true ? 'list' : undefined);
    plan = { special, byJsonName };
    plans.set(type, plan);
  }
  return plan;
}

/** The JSONSchemaProps message a union of the CRD schema holds (its `schema` field's type). */
const schemaPropsOf = (union: MessageType): MessageType => messageOf(union.fields.schema!)!;
/** A union's schema as JSON, when the decoded union holds one (absent message fields read null). */
const schemaToJson = (union: MessageType, value: Json): unknown =>
  Object.hasOwn(value, 'schema') && value.schema !== null
    ? messageToJson(schemaPropsOf(union), value.schema as Json)
    : undefined;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** int64 fields decode as Long objects where the long package is present. */
const toNumber = (value: unknown): number =>
  typeof value === 'object' && value !== null ? Number(String(value)) : Number(value ?? 0);
const bytesOf = (value: unknown): Buffer =>
  value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.alloc(0);

function timeToJson(value: Json, fractionDigits: 0 | 6): string | null {
  const seconds = toNumber(value.seconds);
  const nanos = toNumber(value.nanos);
  if (seconds === 0 && nanos === 0) return null;
  const date = new Date(seconds * 1000);
  // beyond what a date can hold (some 270,000 years): the client's mistake, not the server's
  if (Number.isNaN(date.getTime())) throw new Error(`timestamp of ${String(value.seconds)} seconds is out of range`);
  const whole = date.toISOString().slice(0, 19);
  return fractionDigits === 0 ? `${whole}Z` : `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

function timeFromJson(value: unknown): Json | undefined {
  if (typeof value !== 'string') return undefined;
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) return undefined;
  const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
  return { seconds: Math.floor(millis / 1000), nanos: Number(fraction.padEnd(9, '0').slice(0, 9)) };
}

function jsonText(bytes: unknown): unknown {
  const text = bytesOf(bytes).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The JSON value of one decoded message (as protobufjs decodes it), or undefined when JSON leaves it out. */
export function messageToJson(type: MessageType, value: Json): unknown {
  const plan = planOf(type);
  switch (plan.special) {
    case 'time':
      return timeToJson(value, 0);
    case 'microTime':
      return timeToJson(value, 6);
    case 'intOrString':
      return toNumber(value.type) === 1 ? String(value.strVal ?? '') : toNumber(value.intVal);
    case 'quantity':
      return String(value.string ?? '0');
    case 'rawExtension':
      return jsonText(value.raw);
    case 'fieldsV1':
      return jsonText(value.Raw);
    case 'duration':
      return formatGoDuration(toNumber(value.duration));
    case 'list':
      return [...((value.items as unknown[] | undefined) ?? [])];
    case 'schemaOrArray': {
      const many = (value.jSONSchemas as Json[] | undefined) ?? [];
      if (many.length > 0) return many.map((item) => messageToJson(schemaPropsOf(type), item));
      return schemaToJson(type, value);
    }
    case 'schemaOrBool':
      return schemaToJson(type, value) ?? value.allows === true;
    case 'schemaOrStrings': {
      const names = (value.property as string[] | undefined) ?? [];
      return names.length > 0 ? [...names] : schemaToJson(type, value);
    }
  }
  const out: Json = {};
  for (const name of Object.keys(value)) {
    const field = type.fields[name];
    if (field === undefined) continue;
    const fieldValue = value[name];
    if (field.map) {
      // absent and empty maps decode alike; Go's JSON leaves both out
      const entries = Object.entries(fieldValue as Json);
      if (entries.length > 0)
        out[jsonNameOf(field)] = Object.fromEntries(entries.map(([k, v]) => [k, valueToJson(field, v)]));
    } else if (field.repeated) {
      const items = fieldValue as unknown[];
      if (items.length > 0) out[jsonNameOf(field)] = items.map((item) => valueToJson(field, item));
    } else if (option(field, 'inline')) {
      Object.assign(out, messageToJson(messageOf(field)!, fieldValue as Json));
    } else {
      const converted = valueToJson(field, fieldValue);
      if (converted === undefined || converted === null) continue;
      if (!option(field, 'keep_zero') && (converted === '' || converted === 0 || converted === false)) continue;
      out[jsonNameOf(field)] = converted;
    }
  }
  return out;
}

function valueToJson(field: Field, value: unknown): unknown {
  const message = messageOf(field);
  if (message !== undefined) return messageToJson(message, value as Json);
  switch (field.type) {
    case 'bytes':
      return bytesOf(value).toString('base64');
    case 'int64':
    case 'int32':
      return toNumber(value);
    default:
      return value;
  }
}

/** The value protobufjs encodes for one JSON value of a message, or undefined when nothing is sent. */
export function messageFromJson(type: MessageType, value: unknown): Json | undefined {
  const plan = planOf(type);
  switch (plan.special) {
    case 'time':
    case 'microTime':
      return timeFromJson(value);
    case 'intOrString':
      if (typeof value === 'number') return { type: 0, intVal: value };
      return typeof value === 'string' ? { type: 1, strVal: value } : undefined;
    case 'quantity':
      return typeof value === 'string' || typeof value === 'number' ? { string: String(value) } : undefined;
    case 'rawExtension':
      return value === undefined || value === null ? undefined : { raw: Buffer.from(JSON.stringify(value)) };
    case 'fieldsV1':
      return value === undefined || value === null ? undefined : { Raw: Buffer.from(JSON.stringify(value)) };
    case 'duration': {
      const nanoseconds = typeof value === 'string' ? parseGoDuration(value) : undefined;
      return nanoseconds === undefined ? undefined : { duration: nanoseconds };
    }
    case 'list':
      return Array.isArray(value) ? { items: value.map(String) } : undefined;
    case 'schemaOrArray':
      if (Array.isArray(value))
        return { jSONSchemas: value.map((item) => messageFromJson(schemaPropsOf(type), item) ?? {}) };
      return isObject(value) ? { schema: messageFromJson(schemaPropsOf(type), value) } : undefined;
    case 'schemaOrBool':
      if (typeof value === 'boolean') return { allows: value };
      return isObject(value) ? { allows: true, schema: messageFromJson(schemaPropsOf(type), value) } : undefined;
    case 'schemaOrStrings':
      if (Array.isArray(value)) return { property: value.map(String) };
      return isObject(value) ? { schema: messageFromJson(schemaPropsOf(type), value) } : undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const json = value as Json;
  const out: Json = {};
  for (const name of Object.keys(json)) {
    const entry = plan.byJsonName.get(name);
    const fieldValue = json[name];
    if (entry === undefined || fieldValue === undefined || fieldValue === null) continue;
    const converted = fieldFromJson(entry.field, fieldValue);
    if (converted === undefined) continue;
    let holder = out;
    for (const inline of entry.via) holder = (holder[inline.name] ??= {}) as Json;
    holder[entry.field.name] = converted;
  }
  return out;
}

function fieldFromJson(field: Field, value: unknown): unknown {
  if (field.map) {
    if (typeof value !== 'object' || Array.isArray(value)) return undefined;
    return Object.fromEntries(
      Object.entries(value as Json)
        .map(([k, v]) => [k, valueFromJson(field, v)])
        .filter(([, v]) => v !== undefined),
    );
  }
  if (field.repeated)
    return Array.isArray(value)
      ? value.map((item) => valueFromJson(field, item)).filter((item) => item !== undefined)
      : undefined;
  return valueFromJson(field, value);
}

/** One JSON value as the encoder wants it: typed as the schema says, whatever a client stored. */
function valueFromJson(field: Field, value: unknown): unknown {
  const message = messageOf(field);
  if (message !== undefined) return messageFromJson(message, value) ?? {};
  switch (field.type) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'bytes':
      return Buffer.from(String(value), 'base64');
    case 'bool':
      return value === true;
    case 'int32':
    case 'int64':
      return Number.isFinite(Number(value)) ? Math.trunc(Number(value)) : undefined;
    case 'double':
    case 'float':
      return Number(value);
    default:
      return value;
  }
}
