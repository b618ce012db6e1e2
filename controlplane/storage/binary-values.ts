/**
 * Values are strings in the Storage contract. An encrypted value (upstream's envelope, starting
 * with `k8s:enc:`) is binary: it travels as a one-char-per-byte (latin1) string and is stored as
 * the raw bytes, so etcd and the sqlite row hold exactly what a kube-apiserver would write.
 * Everything else is text, stored as UTF-8.
 */
const binaryMarker = 'k8s:enc:';
const binaryMarkerBytes = Buffer.from(binaryMarker);

function isBinaryValue(value: string): boolean {
  return value.startsWith(binaryMarker);
}

/** What a backend stores for `value`. */
export function valueToBytes(value: string): Buffer {
  return Buffer.from(value, isBinaryValue(value) ? 'latin1' : 'utf8');
}

/** The string a backend hands back for stored bytes. */
export function valueFromBytes(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const binary = buffer.subarray(0, binaryMarkerBytes.length).equals(binaryMarkerBytes);
  return buffer.toString(binary ? 'latin1' : 'utf8');
}

/** For sqlite: text stays TEXT (readable with the sqlite3 shell), binary becomes a BLOB. */
export function sqliteValue(value: string): string | Uint8Array {
  return isBinaryValue(value) ? Buffer.from(value, 'latin1') : value;
}

/** A sqlite column read back: TEXT as it is, a BLOB as its binary string. */
export function fromSqliteValue(column: string | Uint8Array): string {
  return typeof column === 'string' ? column : valueFromBytes(column);
}
