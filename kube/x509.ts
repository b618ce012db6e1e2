/**
 * @peculiar/x509 on Node's WebCrypto, for the control plane (and the hollow nodes): certificate
 * requests of every key type upstream kubelets send (RSA, ECDSA P-256, Ed25519) are read and
 * signed with it. The agent writes its own few with agent/certs/certificate-builder.ts and never
 * loads this library. Import it from here so the library always finds its crypto provider and the
 * Reflect metadata functions its dependency container needs when it loads.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
