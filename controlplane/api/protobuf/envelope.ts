/**
 * Kubernetes' protobuf media type, application/vnd.kubernetes.protobuf: the 4 bytes "k8s\0" and a
 * runtime.Unknown {typeMeta {apiVersion, kind}, raw, contentEncoding, contentType} whose raw is the
 * object's own message (without apiVersion and kind, which travel in typeMeta). Watch streams
 * (;stream=watch) send each event as a 4-byte big-endian length and a metav1.WatchEvent {type,
 * object: RawExtension} whose raw is the object in that same envelope.
 */
import { ApiError } from '../../../kube/errors.ts';
import { messageForKind, messageNamed, type MessageType } from './descriptors.ts';
import { messageFromJson, messageToJson } from './json-mapping.ts';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';
export const protobufWatchMediaType = 'application/vnd.kubernetes.protobuf;stream=watch';

const magic = Buffer.from('k8s\0', 'latin1');
const unknownType = 'k8s.io.apimachinery.pkg.runtime.Unknown';
const watchEventType = 'k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent';

function isProtobufEnvelope(body: Uint8Array): boolean {
  return body.length >= magic.length && magic.every((b, i) => body[i] === b);
}

/** The decoded message: present fields are its own properties (int64 as Long, bytes as Uint8Array). */
function decodeMessage(type: MessageType, bytes: Uint8Array): Record<string, unknown> {
  return type.decode(bytes) as unknown as Record<string, unknown>;
}

/** Encodes a value already typed as the schema says (json-mapping.ts builds those). */
function encodeMessage(type: MessageType, value: Record<string, unknown>): Uint8Array {
  return type.encode(value).finish();
}

/** Decodes a protobuf request body into the JSON object a JSON client would have sent. */
export function decodeProtobufObject(body: Uint8Array): Record<string, unknown> {
  if (!isProtobufEnvelope(body))
    throw new ApiError('BadRequest', 'the protobuf body does not start with the k8s envelope');
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeMessage(messageNamed(unknownType), body.subarray(magic.length));
  } catch (err) {
    throw new ApiError('BadRequest', `the protobuf body is malformed: ${(err as Error).message}`);
  }
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  const type = messageForKind(apiVersion, kind);
  if (type === undefined) {
    throw new ApiError(
      'UnsupportedMediaType',
      `protobuf bodies of kind ${kind || '(none)'} are not supported; send application/json`,
    );
  }
  let object: unknown;
  try {
    object = messageToJson(type, decodeMessage(type, (envelope.raw as Uint8Array | undefined) ?? new Uint8Array()));
  } catch (err) {
    throw new ApiError('BadRequest', `the protobuf body is malformed: ${(err as Error).message}`);
  }
  return { apiVersion, kind, ...(object as Record<string, unknown>) };
}

/** Whether an object of this apiVersion and kind can be sent as protobuf. */
export function canEncodeProtobuf(object: unknown): boolean {
  const { apiVersion, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
  return typeof apiVersion === 'string' && typeof kind === 'string' && messageForKind(apiVersion, kind) !== undefined;
}

/** An object (with its apiVersion and kind) in the protobuf envelope; callers check canEncodeProtobuf first. */
export function encodeProtobufObject(object: Record<string, unknown>): Buffer {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  const type = messageForKind(apiVersion, kind);
  if (type === undefined) throw new ApiError('NotAcceptable', `${kind} objects cannot be sent as ${protobufMediaType}`);
  const raw = encodeMessage(type, messageFromJson(type, object) ?? {});
  const envelope = encodeMessage(messageNamed(unknownType), {
    typeMeta: { apiVersion, kind },
    raw,
    contentEncoding: '',
    contentType: '',
  });
  return Buffer.concat([magic, envelope]);
}

/** One watch event, framed for a ;stream=watch response. */
export function encodeProtobufWatchEvent(type: string, object: Record<string, unknown>): Buffer {
  const event = encodeMessage(messageNamed(watchEventType), { type, object: { raw: encodeProtobufObject(object) } });
  const length = Buffer.alloc(4);
  length.writeUInt32BE(event.length);
  return Buffer.concat([length, event]);
}

/** Reads the events of a ;stream=watch body (for clients of this server written in TypeScript). */
export function decodeProtobufWatchEvents(
  stream: Uint8Array,
): Array<{ type: string; object: Record<string, unknown> }> {
  const events: Array<{ type: string; object: Record<string, unknown> }> = [];
  const view = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let offset = 0; offset + 4 <= view.length; ) {
    const length = view.readUInt32BE(offset);
    const frame = view.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    const event = decodeMessage(messageNamed(watchEventType), frame);
    const raw = (event.object as { raw?: Uint8Array } | undefined)?.raw ?? new Uint8Array();
    events.push({ type: String(event.type ?? ''), object: decodeProtobufObject(raw) });
  }
  return events;
}
