/**
 * certificates.k8s.io CSR field rules (upstream's pkg/apis/certificates/validation): a request, a
 * signer name of the form `domain/path`, known key usages, and a lifetime of at least 10 minutes.
 * What the request itself may ask for is the signers' business, not checked here.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkInteger, checkString, objectAt, stringsOf, uniqueTracker, type Any } from './fields.ts';
import { dns1123Subdomain } from '../../kube/name-formats.ts';

const keyUsages = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

/** A signer name is `<domain>/<path>`: a DNS subdomain, a slash, then a path of qualified-name parts. */
function signerNameProblems(name: string): string[] {
  const slash = name.indexOf('/');
  if (slash < 0) return ["must be a fully qualified domain and path of the form 'example.com/signer-name'"];
  const problems = dns1123Subdomain(name.slice(0, slash)).map((p) => `the domain ${p}`);
  const path = name.slice(slash + 1);
  if (path === '') problems.push('the path must not be empty');
  else if (!/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(path))
    problems.push(
      "validating path: must consist of alphanumeric characters, '-', '_', '/' or '.', and must start and end with an alphanumeric character",
    );
  return problems;
}

export function validateCsr(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  checkString(errors, 'spec.request', spec.request, undefined, true);
  checkString(errors, 'spec.signerName', spec.signerName, signerNameProblems, true);
  const seen = uniqueTracker(errors);
  for (const [usage, at] of stringsOf(errors, 'spec.usages', spec.usages)) {
    if (!keyUsages.includes(usage)) errors.notSupported(at, usage, keyUsages);
    else seen(at, usage);
  }
  checkInteger(errors, 'spec.expirationSeconds', spec.expirationSeconds, {
    min: 600,
    rangeMessage: 'may not specify a duration less than 600 seconds (10 minutes)',
  });
}
