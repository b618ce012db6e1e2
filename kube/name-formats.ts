/**
 * The name formats of the API (upstream's apimachinery util/validation), for the node side: the
 * agent and the service proxy check again, at the point where a name becomes a host path, a rule
 * or a DNS record, what the API server should already have refused. Each check returns what is
 * wrong in upstream's words; an empty list means the value is fine.
 */

/** Upstream's way of explaining a pattern: the rule, examples, then the pattern itself. */
function patternMessage(rule: string, pattern: string, ...examples: string[]): string {
  const shown = examples.map((example) => `'${example}', `).join(' or ');
  return `${rule} (e.g. ${shown}regex used for validation is '${pattern}')`;
}

const tooLong = (max: number) => `must be no more than ${max} characters`;

const labelSource = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const subdomainSource = `${labelSource}(\\.${labelSource})*`;
const labelPattern = new RegExp(`^${labelSource}$`);
const subdomainPattern = new RegExp(`^${subdomainSource}$`);

/** RFC 1123 label: volume, container and namespace names. */
export function dnsLabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push(tooLong(63));
  if (!labelPattern.test(value)) {
    problems.push(patternMessage("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", labelSource, 'my-name', '123-abc'));
  }
  return problems;
}

/** RFC 1123 subdomain: pod and most object names. */
export function dnsSubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 253) problems.push(tooLong(253));
  if (!subdomainPattern.test(value)) {
    problems.push(patternMessage("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", subdomainSource, 'example.com'));
  }
  return problems;
}

/** IANA_SVC_NAME (RFC 6335): port names of containers and Services. */
export function portNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 15) problems.push(tooLong(15));
  if (!/^[-a-z0-9]+$/.test(value)) problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) problems.push('must contain at least one letter (a-z)');
  if (value.includes('--')) problems.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) problems.push('must not begin or end with a hyphen');
  return problems;
}

/** A TCP/UDP/SCTP port number: an integer in 1..65535. */
export function portNumberProblems(value: unknown): string[] {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

/** Upstream's field error line: `<field>: Invalid value: "<value>": <problems>`. */
export function invalidValue(field: string, value: unknown, problems: readonly string[]): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${problems.join(', ')}`;
}
