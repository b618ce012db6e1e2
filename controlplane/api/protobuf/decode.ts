/**
 * Turns a Kubernetes protobuf request body ("k8s\0" + runtime.Unknown envelope) into the same JSON
 * object a JSON client would have sent, using the field table in schema.ts. Fields the table does
 * not know are skipped; zero values are dropped as JSON's omitempty would, except for fields marked
 * 'keep'.
 */
import { ApiError } from '../../../kube/errors.ts';
import { messageForKind, messages, type FieldSpec } from './schema.ts';
import { readFields, WireError, type RawField } from './wire.ts';

const magic = [0x6b, 0x38, 0x73, 0x00];
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isProtobufEnvelope(body: Uint8Array): boolean {
  return body.length >= 4 && magic.every((b, i) => body[i] === b);
}

function timeValue(bytes: Uint8Array): string | null {
  let seconds = 0n;
  for (const f of readFields(bytes)) if (f.number === 1 && f.varint !== undefined) seconds = f.varint;
  if (seconds === 0n) return null;
  // int64 on the wire: a time before 1970 arrives as a 64-bit two's complement
  const date = new Date(Number(BigInt.asIntN(64, seconds)) * 1000);
  // beyond what a date can hold (some 270,000 years): the client's mistake, not the server's
  if (Number.isNaN(date.getTime())) throw new WireError(`timestamp of ${seconds} seconds is out of range`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function scalar(kind: string, field: RawField): unknown {
  switch (kind) {
    case 'string':
      return utf8.decode(field.bytes ?? new Uint8Array());
    case 'bytes':
      return Buffer.from(field.bytes ?? new Uint8Array()).toString('base64');
    case 'int': {
      const v = field.varint ?? 0n;
      // int32/int64 on the wire: negative numbers are 64-bit two's complement.
      return Number(BigInt.asIntN(64, v));
    }
    case 'bool':
      return (field.varint ?? 0n) !== 0n;
    case 'time':
      return timeValue(field.bytes ?? new Uint8Array());
    case 'quantity':
      return decodeMessageFields(field.bytes ?? new Uint8Array(), { 1: ['string', 'string'] }).string ?? '0';
    case 'intOrString': {
      const parts = decodeMessageFields(field.bytes ?? new Uint8Array(), { 1: ['type', 'int', 'keep'], 2: ['intVal', 'int', 'keep'], 3: ['strVal', 'string'] });
      return parts.type === 1 ? (parts.strVal ?? '') : (parts.intVal ?? 0);
    }
    default:
      return decodeMessage(field.bytes ?? new Uint8Array(), kind);
  }
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false || value === null;
}

function decodeMessageFields(bytes: Uint8Array, schema: Readonly<Record<number, FieldSpec>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of readFields(bytes)) {
    const spec = schema[field.number];
    if (spec === undefined) continue;
    const [name, kind, flag] = spec;
    if (kind.startsWith('map:')) {
      const valueKind = kind.slice(4);
      const entry = decodeMessageFields(field.bytes ?? new Uint8Array(), { 1: ['key', 'string'], 2: ['value', valueKind, 'keep'] });
      const map = (out[name] ??= {}) as Record<string, unknown>;
      map[String(entry.key ?? '')] = entry.value ?? (valueKind === 'string' ? '' : valueKind === 'bytes' ? '' : '0');
      continue;
    }
    const value = scalar(kind, field);
    if (flag === 'repeated') {
      ((out[name] ??= []) as unknown[]).push(value);
    } else if (flag === 'keep' || !isZero(value)) {
      out[name] = value;
    }
  }
  return out;
}

function decodeMessage(bytes: Uint8Array, message: string): Record<string, unknown> {
  const schema = messages[message];
  if (schema === undefined) return {};
  return decodeMessageFields(bytes, schema);
}

/** Decodes a protobuf request body; 415 for kinds this server cannot read as protobuf. */
export function decodeProtobufObject(body: Uint8Array): Record<string, unknown> {
  if (!isProtobufEnvelope(body)) throw new ApiError('BadRequest', 'the protobuf body does not start with the k8s envelope');
  try {
    const envelope = decodeMessage(body.subarray(4), 'Unknown');
    const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const message = messageForKind(typeMeta.kind ?? '');
    if (message === undefined) {
      throw new ApiError('UnsupportedMediaType', `protobuf bodies of kind ${typeMeta.kind ?? '(none)'} are not supported; send application/json`);
    }
    const raw = Buffer.from(String(envelope.raw ?? ''), 'base64');
    return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, message) };
  } catch (err) {
    if (err instanceof WireError) throw new ApiError('BadRequest', `the protobuf body is malformed: ${err.message}`);
    if (err instanceof TypeError) throw new ApiError('BadRequest', `the protobuf body has invalid UTF-8 in a string field`);
    throw err;
  }
}
