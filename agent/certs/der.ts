/**
 * Just enough DER (ITU-T X.690) to write the certificates and certificate requests a node makes:
 * each function returns one complete element, so a structure reads as nested calls.
 */

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: its tag byte, its length, its content. */
function element(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => element(0x30, Buffer.concat(items));
export const set = (...items: Uint8Array[]): Buffer => element(0x31, Buffer.concat(items));
export const octetString = (bytes: Uint8Array): Buffer => element(0x04, bytes);
export const utf8String = (text: string): Buffer => element(0x0c, Buffer.from(text, 'utf8'));
export const booleanTrue = (): Buffer => element(0x01, Buffer.from([0xff]));
export const nullValue = (): Buffer => element(0x05, Buffer.alloc(0));
/** [n] EXPLICIT: a constructed context tag around whole elements. */
export const explicit = (n: number, ...items: Uint8Array[]): Buffer => element(0xa0 | n, Buffer.concat(items));
/** [n] IMPLICIT of a primitive type: the value's bytes under a context tag. */
export const implicitPrimitive = (n: number, bytes: Uint8Array): Buffer => element(0x80 | n, bytes);

/** A non-negative INTEGER from its big-endian bytes, in the shortest form DER allows. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = Buffer.from(bytes.subarray(start));
  return element(
    0x02,
    trimmed.length === 0 || trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed,
  );
}

/** A BIT STRING of whole bytes (a signature). */
export function bitString(bytes: Uint8Array): Buffer {
  return element(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

/** A named-bit BIT STRING (X.690 11.2.2: trailing zero bits are left out). */
export function namedBits(bits: readonly number[]): Buffer {
  const width = Math.max(...bits) + 1;
  const bytes = Buffer.alloc(Math.ceil(width / 8));
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return element(0x03, Buffer.concat([Buffer.from([bytes.length * 8 - width]), bytes]));
}

export function objectIdentifier(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [first! * 40 + second!];
  for (const arc of rest) {
    const groups: number[] = [arc & 0x7f];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128))
      groups.unshift((high & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return element(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), to the second, in UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-07T13:50:00.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050
    ? element(0x17, Buffer.from(`${digits.slice(2)}Z`))
    : element(0x18, Buffer.from(`${digits}Z`));
}
