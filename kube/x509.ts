/**
 * @peculiar/x509 on Node's WebCrypto, for the control plane and the agent alike: certificate
 * requests of every key type upstream kubelets send (RSA, ECDSA P-256, Ed25519) are built, read and
 * signed with it. Import it from here so the library always finds its crypto provider and the
 * metadata functions it needs at load.
 */
import './reflect-metadata.ts';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
