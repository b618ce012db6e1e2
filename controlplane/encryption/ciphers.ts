/**
 * The envelope upstream's kube-apiserver writes, byte for byte, so a datastore written by one can be
 * read by the other: `k8s:enc:<provider>:v1:<key name>:` followed by
 *  - aescbc: a random 16-byte IV, then AES-CBC ciphertext with PKCS#7 padding (no integrity check,
 *    as upstream);
 *  - aesgcm: a random 12-byte nonce, then AES-GCM ciphertext and its 16-byte tag, with the storage
 *    key (`/registry/secrets/<ns>/<name>`) as additional data, so a value copied under another key
 *    does not decrypt. Random nonces limit one key to about 2^32 writes: rotate it well before.
 * Identity stores the value as it is.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import type { ProviderConfig, ProviderKey } from './config.ts';

/** Every encrypted value starts with this; plain JSON never does. */
export const encryptedValueMarker = 'k8s:enc:';

export interface Cipher {
  /** What the stored bytes start with (empty for identity). */
  readonly prefix: Buffer;
  seal(plain: Buffer, storageKey: string): Buffer;
  /** `body` is the stored value after the prefix. */
  open(body: Buffer, storageKey: string): Buffer;
}

/** Key length picks AES-128, -192 or -256 (the config allows only those lengths). */
function cbcName(secret: Buffer): string {
  return `aes-${secret.length * 8}-cbc`;
}

function gcmName(secret: Buffer): CipherGCMTypes {
  return `aes-${secret.length * 8}-gcm` as CipherGCMTypes;
}

function aescbc(key: ProviderKey): Cipher {
  const algorithm = cbcName(key.secret);
  return {
    prefix: Buffer.from(`${encryptedValueMarker}aescbc:v1:${key.name}:`),
    seal(plain) {
      const iv = randomBytes(16);
      const cipher = createCipheriv(algorithm, key.secret, iv);
      return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
    },
    open(body) {
      if (body.length < 32 || body.length % 16 !== 0) throw new Error('the data is not a whole number of AES blocks');
      const decipher = createDecipheriv(algorithm, key.secret, body.subarray(0, 16));
      return Buffer.concat([decipher.update(body.subarray(16)), decipher.final()]);
    },
  };
}

const gcmNonceBytes = 12;
const gcmTagBytes = 16;

function aesgcm(key: ProviderKey): Cipher {
  const algorithm = gcmName(key.secret);
  return {
    prefix: Buffer.from(`${encryptedValueMarker}aesgcm:v1:${key.name}:`),
    seal(plain, storageKey) {
      const nonce = randomBytes(gcmNonceBytes);
      const cipher = createCipheriv(algorithm, key.secret, nonce, { authTagLength: gcmTagBytes });
      cipher.setAAD(Buffer.from(storageKey));
      return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    },
    open(body, storageKey) {
      if (body.length < gcmNonceBytes + gcmTagBytes) throw new Error('the data is shorter than a nonce and a tag');
      const decipher = createDecipheriv(algorithm, key.secret, body.subarray(0, gcmNonceBytes), {
        authTagLength: gcmTagBytes,
      });
      decipher.setAAD(Buffer.from(storageKey));
      decipher.setAuthTag(body.subarray(body.length - gcmTagBytes));
      return Buffer.concat([
        decipher.update(body.subarray(gcmNonceBytes, body.length - gcmTagBytes)),
        decipher.final(),
      ]);
    },
  };
}

const identity: Cipher = {
  prefix: Buffer.alloc(0),
  seal: (plain) => plain,
  open: (body) => body,
};

/** One cipher per key, in the configured order (identity: one without a prefix). */
export function ciphersOf(provider: ProviderConfig): Cipher[] {
  switch (provider.kind) {
    case 'identity':
      return [identity];
    case 'aescbc':
      return provider.keys.map(aescbc);
    case 'aesgcm':
      return provider.keys.map(aesgcm);
  }
}
