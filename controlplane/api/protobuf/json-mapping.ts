/**
 * Between a Kubernetes object's JSON form and its protobuf message, as upstream's types marshal:
 * - metav1.Time is {seconds, nanos} and JSON's RFC 3339 to the second; MicroTime to the microsecond;
 *   a zero time is JSON null, which an object leaves out;
 * - IntOrString is {type, intVal, strVal} and a JSON number or string; Quantity is its string;
 * - RawExtension and FieldsV1 carry their JSON text as bytes; bytes fields are base64 in JSON;
 * - wrappers of one repeated 'items' field (ExtraValue, Verbs) are plain JSON arrays;
 * - embedded structs ((inline) in the schema) lift their fields into the parent's JSON;
 * - a scalar left at its zero value is left out of JSON (omitempty) unless the schema marks it
 *   (keep_zero): Go pointers, where zero means something (replicas: 0), and fields without omitempty.
 * Both directions are pure: they build new plain values and never touch their input.
 */
import type { MessageType } from './descriptors.ts';

type Json = Record<string, unknown>;
type Field = MessageType['fieldsArray'][number];

const meta = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const specialTypes = {
  time: `${meta}.Time`,
  microTime: `${meta}.MicroTime`,
  intOrString: 'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  quantity: 'k8s.io.apimachinery.pkg.api.resource.Quantity',
  rawExtension: 'k8s.io.apimachinery.pkg.runtime.RawExtension',
  fieldsV1: `${meta}.FieldsV1`,
} as const;

const fullName = (type: MessageType): string => type.fullName.replace(/^\./, '');
const option = (field: Field, name: string): boolean => field.options?.[`(${name})`] === true;
const wrapsList = (type: MessageType): boolean => type.options?.['(json_list)'] === true;

/** A plain value of a decoded message (protobufjs toObject with longs as numbers, bytes as base64). */
type Decoded = Json;

function timeToJson(value: Decoded, fractionDigits: 0 | 6): string | null {
  const seconds = Number(value.seconds ?? 0);
  const nanos = Number(value.nanos ?? 0);
  if (seconds === 0 && nanos === 0) return null;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return fractionDigits === 0 ? `${whole}Z` : `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

function timeFromJson(value: unknown): Json | undefined {
  if (typeof value !== 'string') return undefined;
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) return undefined;
  const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
  return { seconds: Math.floor(millis / 1000), nanos: Number(fraction.padEnd(9, '0').slice(0, 9)) };
}

function jsonText(base64: unknown): unknown {
  const text = Buffer.from(String(base64 ?? ''), 'base64').toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The JSON value of one decoded message, or undefined when JSON leaves it out. */
export function messageToJson(type: MessageType, value: Decoded): unknown {
  switch (fullName(type)) {
    case specialTypes.time:
      return timeToJson(value, 0);
    case specialTypes.microTime:
      return timeToJson(value, 6);
    case specialTypes.intOrString:
      return Number(value.type ?? 0) === 1 ? String(value.strVal ?? '') : Number(value.intVal ?? 0);
    case specialTypes.quantity:
      return String(value.string ?? '0');
    case specialTypes.rawExtension:
      return jsonText(value.raw);
    case specialTypes.fieldsV1:
      return jsonText(value.Raw);
  }
  if (wrapsList(type)) return (value.items as unknown[] | undefined) ?? [];
  const out: Json = {};
  for (const field of type.fieldsArray) {
    if (!(field.name in value)) continue;
    const fieldValue = value[field.name];
    if (field.map) {
      out[field.name] = Object.fromEntries(Object.entries(fieldValue as Json).map(([k, v]) => [k, valueToJson(field, v)]));
    } else if (field.repeated) {
      const items = fieldValue as unknown[];
      if (items.length > 0) out[field.name] = items.map((item) => valueToJson(field, item));
    } else if (option(field, 'inline')) {
      Object.assign(out, messageToJson(field.resolvedType as MessageType, fieldValue as Decoded));
    } else {
      const converted = valueToJson(field, fieldValue);
      if (converted === undefined || converted === null) continue;
      if (!option(field, 'keep_zero') && (converted === '' || converted === 0 || converted === false)) continue;
      out[field.name] = converted;
    }
  }
  return out;
}

function valueToJson(field: Field, value: unknown): unknown {
  const type = field.resolvedType;
  if (type !== null && 'fieldsArray' in type) return messageToJson(type as MessageType, value as Decoded);
  if (field.type === 'bytes') return String(value ?? '');
  if (field.type === 'int64' || field.type === 'int32') return Number(value);
  return value;
}

/** The protobufjs plain object of one JSON value of a message, or undefined when nothing is sent. */
export function messageFromJson(type: MessageType, value: unknown): Json | undefined {
  switch (fullName(type)) {
    case specialTypes.time:
    case specialTypes.microTime:
      return timeFromJson(value);
    case specialTypes.intOrString:
      if (typeof value === 'number') return { type: 0, intVal: value };
      return typeof value === 'string' ? { type: 1, strVal: value } : undefined;
    case specialTypes.quantity:
      return typeof value === 'string' || typeof value === 'number' ? { string: String(value) } : undefined;
    case specialTypes.rawExtension:
      return value === undefined || value === null ? undefined : { raw: Buffer.from(JSON.stringify(value)) };
    case specialTypes.fieldsV1:
      return value === undefined || value === null ? undefined : { Raw: Buffer.from(JSON.stringify(value)) };
  }
  if (wrapsList(type)) return Array.isArray(value) ? { items: value.map(String) } : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const json = value as Json;
  const out: Json = {};
  for (const field of type.fieldsArray) {
    if (option(field, 'inline')) {
      const lifted = messageFromJson(field.resolvedType as MessageType, json);
      if (lifted !== undefined && Object.keys(lifted).length > 0) out[field.name] = lifted;
      continue;
    }
    const fieldValue = json[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    if (field.map) {
      if (typeof fieldValue !== 'object') continue;
      out[field.name] = Object.fromEntries(Object.entries(fieldValue as Json).map(([k, v]) => [k, valueFromJson(field, v)]).filter(([, v]) => v !== undefined));
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) continue;
      out[field.name] = fieldValue.map((item) => valueFromJson(field, item)).filter((item) => item !== undefined);
    } else {
      const converted = valueFromJson(field, fieldValue);
      if (converted !== undefined) out[field.name] = converted;
    }
  }
  return out;
}

function valueFromJson(field: Field, value: unknown): unknown {
  const type = field.resolvedType;
  if (type !== null && 'fieldsArray' in type) return messageFromJson(type as MessageType, value) ?? {};
  return value;
}
