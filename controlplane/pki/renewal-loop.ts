/**
 * The running server keeps its certificates current without a restart: every check period it runs
 * ensureClusterPki again, which issues what is due (a third of its life left) and reads what
 * `bosun certs renew` wrote in the meantime, and hands the pairs that changed to the server: the
 * serving certificate goes into the TLS context in place (new handshakes get it, open connections
 * keep theirs), the kubelet-client and admin identities to the clients that use them, and
 * admin.kubeconfig has been rewritten atomically by then. A failed round is logged and tried again
 * next period; the certificates in use stay valid for a third of their life.
 */
import type { Logger } from 'pino';
import { pause, type Clock } from '../../kube/clock.ts';
import { ensureClusterPki, type ClusterPki, type PkiOptions } from './cluster-pki.ts';
import { controlPlaneCertificates } from './control-plane-certificates.ts';

/** How often the files are looked at by default: renewal is months ahead, `bosun certs renew` is picked up within this. */
const defaultCertificateCheckIntervalMs = 60_000;

interface CertificateRenewalOptions {
  /** What ensureClusterPki needs, as the server started with. */
  readonly pki: Omit<PkiOptions, 'now' | 'renew'>;
  /** The certificates in use now. */
  readonly current: ClusterPki;
  readonly clock: Clock;
  readonly checkIntervalMs?: number;
  /** Puts changed certificates to use; `changed` names them as `bosun certs` does. */
  readonly apply: (next: ClusterPki, changed: readonly string[]) => void;
  readonly logger: Logger;
}

/** The names of the certificates whose pair differs between two views (pure). */
function changedCertificates(before: ClusterPki, after: ClusterPki): string[] {
  const pairOf = (pki: ClusterPki, file: string) =>
    file === 'admin' ? pki.admin : file === 'apiserver' ? pki.serving : pki.kubeletClient;
  return controlPlaneCertificates
    .filter((c) => pairOf(before, c.file).cert !== pairOf(after, c.file).cert)
    .map((c) => c.name);
}

export class CertificateRenewal {
  readonly #options: CertificateRenewalOptions;
  #current: ClusterPki;

  constructor(options: CertificateRenewalOptions) {
    this.#options = options;
    this.#current = options.current;
  }

  /** One round: renew what is due, pick up what changed on disk, apply it; returns the names that changed. */
  check(): string[] {
    const next = ensureClusterPki({ ...this.#options.pki, now: this.#options.clock.now() });
    const changed = changedCertificates(this.#current, next);
    this.#current = next;
    if (changed.length > 0) this.#options.apply(next, changed);
    return changed;
  }

  /** Until aborted: a round every check period. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.#options;
    while (!signal.aborted) {
      await pause(clock, this.#options.checkIntervalMs ?? defaultCertificateCheckIntervalMs, signal);
      if (signal.aborted) return;
      try {
        const changed = this.check();
        if (changed.length > 0)
          logger.info({ renewed: changed, reasons: this.#current.reissued }, 'certificates renewed and in use');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'certificate renewal failed; trying again next period');
      }
    }
  }
}
