/**
 * The TLS side of the ingress proxy: which certificate answers which SNI name. Ingresses name
 * Secrets (`spec.tls[].secretName`, type kubernetes.io/tls) for hosts; a name without one, or a
 * client that sends no SNI, gets a self-signed default certificate (as Traefik and ingress-nginx
 * serve theirs). Contexts are made once per certificate and key, so a resync that changes nothing
 * costs nothing, and a replaced Secret is served from the next handshake on.
 */
import { createHash, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { createSecureContext, type SecureContext } from 'node:tls';
import { selfSignedCertificatePem } from '../certs/certificate-builder.ts';
import type { Ingress } from '../../kube/networkingv1.ts';
import { compareText } from '../../kube/text-order.ts';

/** A Secret an Ingress names for TLS, and the hosts it is for. */
interface WantedSecret {
  readonly namespace: string;
  readonly name: string;
  readonly hosts: readonly string[];
}

/**
 * Pure: the Secrets the served Ingresses want, with their hosts (a TLS entry without hosts covers
 * the hosts of its Ingress's rules). An entry without a secret name terminates with the default.
 */
export function wantedSecrets(ingresses: readonly Ingress[]): WantedSecret[] {
  const out: WantedSecret[] = [];
  // older Ingresses first: the first Secret named for a host keeps it, so a newer Ingress (of
  // another team, say) cannot put its own certificate in front of a host someone already serves
  const byAge = [...ingresses].sort(
    (a, b) =>
      compareText(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
      compareText(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`),
  );
  for (const ingress of byAge) {
    const namespace = ingress.metadata.namespace ?? 'default';
    const ruleHosts = (ingress.spec?.rules ?? []).map((r) => r.host ?? '').filter((h) => h !== '');
    for (const tls of ingress.spec?.tls ?? []) {
      if (typeof tls.secretName !== 'string' || tls.secretName === '') continue;
      const hosts = (tls.hosts ?? []).length > 0 ? (tls.hosts ?? []) : ruleHosts;
      out.push({ namespace, name: tls.secretName, hosts: hosts.map((h) => h.toLowerCase()) });
    }
  }
  return out;
}

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export class CertificateStore {
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  #default: SecureContext;
  /** Contexts by a digest of certificate and key: reused while the pair stays the same. */
  #contexts = new Map<string, SecureContext>();

  constructor(defaultPair: KeyPair) {
    this.#default = createSecureContext({ cert: defaultPair.certPem, key: defaultPair.keyPem });
  }

  /**
   * Serves `pairs` for their hosts from now on; the first pair named for a host keeps it (older
   * Ingresses come first). Returns what could not be used (a key that does not fit, bad PEM).
   */
  update(pairs: readonly { hosts: readonly string[]; pair: KeyPair; source: string }[]): string[] {
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const contexts = new Map<string, SecureContext>();
    const problems: string[] = [];
    for (const { hosts, pair, source } of pairs) {
      const digest = createHash('sha256').update(pair.certPem).update('\u0000').update(pair.keyPem).digest('hex');
      let context = contexts.get(digest) ?? this.#contexts.get(digest);
      if (context === undefined) {
        try {
          context = createSecureContext({ cert: pair.certPem, key: pair.keyPem });
        } catch (err) {
          problems.push(`${source}: ${(err as Error).message}`);
          continue;
        }
      }
      contexts.set(digest, context);
      for (const host of hosts) {
        if (host.startsWith('*.')) {
          if (!wildcard.has(host.slice(1))) wildcard.set(host.slice(1), context);
        } else if (!exact.has(host)) exact.set(host, context);
      }
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#contexts = contexts;
    return problems;
  }

  /** The context for an SNI name (undefined or unknown: the default certificate). */
  contextFor(servername: string | undefined): SecureContext {
    if (servername === undefined || servername === '') return this.#default;
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return (dot > 0 ? this.#wildcard.get(name.slice(dot)) : undefined) ?? this.#default;
  }
}

/** A fresh self-signed ECDSA P-256 certificate for clients that reach no configured host. */
export async function defaultCertificate(nowMs = Date.now()): Promise<KeyPair> {
  const keys = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const certPem = selfSignedCertificatePem(
    {
      commonName: 'bosun ingress default certificate',
      notBefore: new Date(nowMs - 5 * 60_000),
      notAfter: new Date(nowMs + 365 * 24 * 3600_000),
      keyEncipherment: false,
    },
    keys,
  );
  return { certPem, keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
