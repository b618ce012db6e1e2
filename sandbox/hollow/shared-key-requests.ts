/**
 * Certificate requests for many hollow nodes in one process. Each node still asks for and gets its
 * own client certificate (its own CN system:node:<name>, its own serial), but all of a process's
 * nodes share one RSA key pair, and the request is signed by Node's crypto rather than forge's
 * JavaScript RSA: on this kind of machine a 2048-bit key costs ~200 ms to make and a forge
 * signature ~100 ms, which would make the hollow fleet's own joining the slowest part of a
 * 1,000-node benchmark. A real node's join (host/join/tls-bootstrap.ts) keeps a key of its own.
 */
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** forge builds this block when signing but its typings leave the function out. */
const certificationRequestInfo = (
  forge.pki as unknown as { getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1 }
).getCertificationRequestInfo;

export class SharedKeyRequests {
  readonly #keyPem: string;
  readonly #key: KeyObject;
  readonly #publicKey: forge.pki.rsa.PublicKey;

  constructor() {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.#key = createPrivateKey(this.#keyPem);
    const forgeKey = forge.pki.privateKeyFromPem(this.#keyPem) as forge.pki.rsa.PrivateKey;
    this.#publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  }

  /** A PKCS#10 request for system:node:<nodeName> (O=system:nodes), and the shared key's PEM. */
  request(nodeName: string): { csrPem: string; keyPem: string } {
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = this.#publicKey;
    csr.setSubject([
      { name: 'organizationName', value: 'system:nodes' },
      { name: 'commonName', value: `system:node:${nodeName}` },
    ]);
    // forge lays out the request and asks `key.sign` for the signature over its info block
    const signer = {
      sign: () => {
        const info = Buffer.from(forge.asn1.toDer(certificationRequestInfo(csr)).getBytes(), 'binary');
        return sign('sha256', info, this.#key).toString('binary');
      },
    };
    csr.sign(signer as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem: this.#keyPem };
  }
}
