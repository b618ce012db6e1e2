/**
 * What `bosun certs check-expiration` prints, laid out as `kubeadm certs check-expiration` lays it
 * out: the control plane's certificates (name, expiry, time left, the CA that signed them, whether
 * they are externally managed), then the CA on its own. They are externally managed when the CA's
 * key is not on this machine: bosun can then renew nothing itself.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { keyPairPaths, readKeyPair } from '../../kube/key-pair-files.ts';
import { pkiDir } from './cluster-pki.ts';
import { caFile, controlPlaneCertificates } from './control-plane-certificates.ts';

export interface ExpirationRow {
  readonly name: string;
  /** Milliseconds since the epoch; undefined when the certificate is missing. */
  readonly notAfter: number | undefined;
  readonly externallyManaged: boolean;
}

export interface ExpirationReport {
  readonly certificates: readonly ExpirationRow[];
  readonly authority: ExpirationRow;
}

/** A pair's certificate (finishing an interrupted renewal); the CA's alone when its key is kept elsewhere. */
function certificateOf(dir: string, file: string): string | undefined {
  const paths = keyPairPaths(dir, file);
  if (existsSync(paths.key)) return readKeyPair(dir, file)?.cert;
  return existsSync(paths.cert) ? readFileSync(paths.cert, 'utf8') : undefined;
}

const notAfterOf = (pem: string | undefined) =>
  pem === undefined ? undefined : Date.parse(new X509Certificate(pem).validTo);

/** Reads the certificates under <data-dir>/pki. */
export function observeExpirations(dataDir: string): ExpirationReport {
  const dir = pkiDir(dataDir);
  const externallyManaged = !existsSync(keyPairPaths(dir, caFile).key);
  return {
    certificates: controlPlaneCertificates.map((c) => ({
      name: c.name,
      notAfter: notAfterOf(certificateOf(dir, c.file)),
      externallyManaged,
    })),
    authority: { name: caFile, notAfter: notAfterOf(certificateOf(dir, caFile)), externallyManaged },
  };
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `Dec 07, 2027 05:30 UTC`, as kubeadm prints an expiry. */
export function expiryText(ms: number): string {
  const d = new Date(ms);
  return `${months[d.getUTCMonth()]} ${two(d.getUTCDate())}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** Time left in the short form upstream prints it (`45s`, `12m`, `5h`, `364d`, `9y`; `<invalid>` once expired). */
export function residualTime(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Columns padded to their widest cell plus three spaces, as Go's tabwriter lays kubeadm's tables out. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** Both tables, as printed at `now` (pure). */
export function renderExpirationReport(report: ExpirationReport, now: number): string {
  const certificates = report.certificates.map((r) =>
    r.notAfter === undefined
      ? [`!MISSING! ${r.name}`, '', '', '', '']
      : [r.name, expiryText(r.notAfter), residualTime(r.notAfter - now), caFile, yesNo(r.externallyManaged)],
  );
  const ca = report.authority;
  const authorities = [
    ca.notAfter === undefined
      ? [`!MISSING! ${ca.name}`, '', '', '']
      : [ca.name, expiryText(ca.notAfter), residualTime(ca.notAfter - now), yesNo(ca.externallyManaged)],
  ];
  return [
    table([
      ['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'EXTERNALLY MANAGED'],
      ...certificates,
    ]),
    '',
    table([['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'EXTERNALLY MANAGED'], ...authorities]),
    '',
  ].join('\n');
}
