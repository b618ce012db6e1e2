/**
 * The base64 that a `[]byte` field of the API (Secret `data`, ConfigMap `binaryData`) must hold:
 * upstream decodes it with Go's padded standard alphabet while decoding the request, and refuses
 * the request (400) at the first byte that breaks it, in Go's words. Line breaks are skipped, as Go
 * skips them; trailing bits are not checked, as Go does not check them. Pure.
 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const inAlphabet = new Uint8Array(256);
for (let i = 0; i < alphabet.length; i++) inAlphabet[alphabet.charCodeAt(i)] = 1;

const pad = 0x3d;
const isLineBreak = (byte: number | undefined) => byte === 0x0a || byte === 0x0d;

/**
 * Where Go's decoder gives up on `text` (its UTF-8 bytes), or undefined when it decodes. Walks the
 * input in quanta of four symbols, as Go's decodeQuantum does, so the offsets are Go's.
 */
export function illegalBase64Offset(text: string): number | undefined {
  const src = Buffer.from(text, 'utf8');
  let si = 0;
  while (si < src.length) {
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        // the input ended inside a quantum: Go needs it padded to four
        if (j === 0) return undefined;
        return si - j;
      }
      const byte = src[si++]!;
      if (inAlphabet[byte] === 1) continue;
      if (isLineBreak(byte)) {
        j--;
        continue;
      }
      if (byte !== pad || j < 2) return si - 1;
      if (j === 2) {
        // one '=' taken: a second must follow (line breaks between them are skipped)
        while (isLineBreak(src[si])) si++;
        if (si === src.length) return src.length;
        if (src[si] !== pad) return si - 1;
        si++;
      }
      while (isLineBreak(src[si])) si++;
      // padding ends the input: anything after it is garbage
      return si < src.length ? si : undefined;
    }
  }
  return undefined;
}

/** Go's error text for such input (base64.CorruptInputError). */
export function illegalBase64Message(offset: number): string {
  return `illegal base64 data at input byte ${offset}`;
}
