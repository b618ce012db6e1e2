/** Reading the protobuf wire format field by field (tests check hand-built encodings with it): varints, length-delimited fields, skipping the rest. */
type WireType = 0 | 1 | 2 | 5;

export interface RawField {
  readonly number: number;
  readonly wireType: WireType;
  /** Varint fields: the value (as bigint, to keep int64 exact). */
  readonly varint?: bigint;
  /** Length-delimited fields: the bytes. */
  readonly bytes?: Uint8Array;
}

class WireError extends Error {}

function readVarint(data: Uint8Array, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = offset; i < data.length && i < offset + 10; i++) {
    const byte = data[i]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, i + 1];
    shift += 7n;
  }
  throw new WireError('truncated varint');
}

/** Splits one message's bytes into its fields, in wire order. */
export function readFields(data: Uint8Array): RawField[] {
  const fields: RawField[] = [];
  let offset = 0;
  while (offset < data.length) {
    const [tag, afterTag] = readVarint(data, offset);
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    offset = afterTag;
    if (number <= 0) throw new WireError(`bad field number ${number}`);
    switch (wireType) {
      case 0: {
        const [value, next] = readVarint(data, offset);
        fields.push({ number, wireType, varint: value });
        offset = next;
        break;
      }
      case 1:
        if (offset + 8 > data.length) throw new WireError('truncated fixed64');
        offset += 8;
        break;
      case 2: {
        const [length, start] = readVarint(data, offset);
        const end = start + Number(length);
        if (end > data.length) throw new WireError('truncated length-delimited field');
        fields.push({ number, wireType, bytes: data.subarray(start, end) });
        offset = end;
        break;
      }
      case 5:
        if (offset + 4 > data.length) throw new WireError('truncated fixed32');
        offset += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
  return fields;
}
