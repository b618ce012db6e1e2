/**
 * The secrets every API server of one cluster must share, carried from a running server to a
 * joining one as kubeadm carries them (`kubeadm-certs`): each file sealed with AES-256-GCM under a
 * certificate key (32 random bytes, printed as 64 hex digits) that only the join command carries,
 * and stored in the Secret kube-system/bosun-certs. The cluster never holds the key, so reading
 * the Secret alone gives nothing usable. Pure: no files, no API here.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** The Secret in kube-system that holds the sealed files. */
export const controlPlaneCertsSecretName = 'bosun-certs';

/**
 * What a joining server needs, by the key it has in the Secret: the cluster CA (its key signs every
 * server's serving certificate and the nodes' certificates), the service-account signing key (a
 * token issued by one server verifies on every other), the front proxy's CA, and the
 * EncryptionConfiguration (a Secret encrypted by one server decrypts on the others).
 */
export const sharedFiles = [
  'ca.crt',
  'ca.key',
  'sa.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'encryption-config.yaml',
] as const;
export type SharedFile = (typeof sharedFiles)[number];

/** The files a cluster must have; the encryption configuration is there only when the first server has one. */
export const requiredSharedFiles: readonly SharedFile[] = sharedFiles.filter((f) => f !== 'encryption-config.yaml');

const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;

/** A fresh certificate key, as hex (kubeadm's form). */
export function generateCertificateKey(): string {
  return randomBytes(keyBytes).toString('hex');
}

/** The key from its 64 hex digits; undefined when the text is not that. */
export function parseCertificateKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  return /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : undefined;
}

/** nonce ‖ ciphertext ‖ tag: a fresh nonce per file, so one key seals many files safely. */
export function seal(key: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** The plaintext, or undefined when `sealed` was not made with this key (or was changed). */
export function open(key: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < nonceBytes + tagBytes) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, nonceBytes));
  decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(nonceBytes, sealed.length - tagBytes)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Secret data (base64 of each sealed file) for the files given. */
export function sealedSecretData(key: Buffer, files: Partial<Record<SharedFile, string>>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const name of sharedFiles) {
    const text = files[name];
    if (text !== undefined) data[name] = seal(key, Buffer.from(text, 'utf8')).toString('base64');
  }
  return data;
}

export type OpenedMaterial =
  | { ok: true; files: Partial<Record<SharedFile, string>> }
  | { ok: false; reason: 'wrong-key' | 'incomplete'; detail: string };

/**
 * Opens every file of the Secret's data with the key. Unknown keys are ignored (never written
 * anywhere); a missing required file or one the key does not open is refused as a whole.
 */
export function openSecretData(key: Buffer, data: Record<string, string> | undefined): OpenedMaterial {
  const files: Partial<Record<SharedFile, string>> = {};
  for (const name of sharedFiles) {
    const value = data?.[name];
    if (value === undefined) continue;
    const plain = open(key, Buffer.from(value, 'base64'));
    if (plain === undefined) return { ok: false, reason: 'wrong-key', detail: name };
    files[name] = plain.toString('utf8');
  }
  const missing = requiredSharedFiles.filter((name) => files[name] === undefined);
  if (missing.length > 0) return { ok: false, reason: 'incomplete', detail: missing.join(', ') };
  return { ok: true, files };
}
