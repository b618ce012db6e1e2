/**
 * Name and value formats of the API (upstream's apimachinery util/validation): each check returns
 * the list of what is wrong, in upstream's words, empty when the value is fine. These are the
 * formats that keep hostile text out of host paths, iptables payloads and DNS records: the API
 * server refuses to store what fails them, and the agent and the service proxy check again where a
 * name becomes a path, a rule or a record (an older server, a bug or a hand-edited datastore).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Upstream's way of explaining a pattern: the message, examples, then the pattern itself. */
function patternError(message: string, pattern: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${pattern}')`;
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${pattern}')`;
}

const maxLengthError = (max: number): string => `must be no more than ${max} characters`;
const rangeError = (low: number, high: number): string => `must be between ${low} and ${high}, inclusive`;

const label1123 = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const subdomain1123 = `${label1123}(\\.${label1123})*`;
const label1035 = '[a-z]([-a-z0-9]*[a-z0-9])?';
const label1123Pattern = new RegExp(`^${label1123}$`);
const subdomain1123Pattern = new RegExp(`^${subdomain1123}$`);
const label1035Pattern = new RegExp(`^${label1035}$`);

export function dns1123Label(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLengthError(63));
  if (!label1123Pattern.test(value)) {
    errors.push(
      subdomain1123Pattern.test(value)
        ? 'must not contain dots'
        : patternError(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            label1123,
            'my-name',
            '123-abc',
          ),
    );
  }
  return errors;
}

export function dns1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLengthError(253));
  if (!subdomain1123Pattern.test(value)) {
    errors.push(
      patternError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        subdomain1123,
        'example.com',
      ),
    );
  }
  return errors;
}

const wildcardSubdomain1123 = `\\*\\.${subdomain1123}`;
const wildcardSubdomain1123Pattern = new RegExp(`^\\*\\.${subdomain1123}$`);

/** `*.` and a DNS subdomain (RFC 1034 section 4.3.3): the wildcard hosts of Ingress rules and TLS entries. */
export function wildcardDns1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLengthError(253));
  if (!wildcardSubdomain1123Pattern.test(value)) {
    errors.push(
      patternError(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
        wildcardSubdomain1123,
        '*.example.com',
      ),
    );
  }
  return errors;
}

export function dns1035Label(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLengthError(63));
  if (!label1035Pattern.test(value)) {
    errors.push(
      patternError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        label1035,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errors;
}

/** IANA_SVC_NAME (RFC 6335): what container port names and named target ports must be. */
export function portName(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 15) errors.push(maxLengthError(15));
  if (!/^[-a-z0-9]+$/.test(value))
    errors.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) errors.push('must contain at least one letter (a-z)');
  if (value.includes('--')) errors.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) errors.push('must not begin or end with a hyphen');
  return errors;
}

export function portNumber(value: unknown): string[] {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535 ? [] : [rangeError(1, 65535)];
}

/** Upstream's field error line: `<field>: Invalid value: "<value>": <problems>`. */
export function invalidValue(field: string, value: unknown, problems: readonly string[]): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${problems.join(', ')}`;
}

/** Environment variable names as upstream accepts them today: printable ASCII without '='. */
export function envVarName(value: string): string[] {
  if (value === '') return ['environment variable name must be non-empty'];
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(value)
    ? []
    : ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
}

const configKeySource = '[-._a-zA-Z0-9]+';
const configKeyPattern = new RegExp(`^${configKeySource}$`);

/** Keys of ConfigMap and Secret data: they become file names in the pod's volume. */
export function configMapKey(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLengthError(253));
  if (!configKeyPattern.test(value)) {
    errors.push(
      patternError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        configKeySource,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  }
  if (value === '.') errors.push("must not be '.'");
  else if (value === '..') errors.push("must not be '..'");
  else if (value.startsWith('..')) errors.push("must not start with '..'");
  return errors;
}

const qualifiedSource = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedPattern = new RegExp(`^${qualifiedSource}$`);
const qualifiedMessage =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** A qualified name (`[prefix/]name`): label and annotation keys, finalizers, signer names. */
export function qualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name = parts[0]!;
  const errors: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix === '') errors.push('prefix part must be non-empty');
    else errors.push(...dns1123Subdomain(prefix).map((e) => `prefix part ${e}`));
  } else if (parts.length > 2) {
    return [
      `a qualified name ${patternError(qualifiedMessage, qualifiedSource, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push(`name part ${maxLengthError(63)}`);
  if (name !== '' && !qualifiedPattern.test(name))
    errors.push(`name part ${patternError(qualifiedMessage, qualifiedSource, 'MyName', 'my.name', '123-abc')}`);
  return errors;
}

const labelValueSource = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const labelValuePattern = new RegExp(`^${labelValueSource}$`);

export function labelValue(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLengthError(63));
  if (!labelValuePattern.test(value)) {
    errors.push(
      patternError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        labelValueSource,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errors;
}

/** Names that only need to be one segment of a URL path (RBAC objects, which use ':'). */
export function pathSegment(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  return ['/', '%'].filter((c) => value.includes(c)).map((c) => `may not contain '${c}'`);
}

/** An IP address as Go's parser takes it: no zone, no leading zeros in IPv4. */
export function isIp(value: string): boolean {
  return isIPv4(value) || (isIPv6(value) && !value.includes('%'));
}

export function ipAddress(value: string): string[] {
  return isIp(value) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'];
}

export function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const address = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
  const max = isIPv4(address) ? 32 : isIp(address) ? 128 : -1;
  return Number(bits) <= max;
}

export function cidr(value: string): string[] {
  return isCidr(value) ? [] : ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
}

/** A domain name with at least two labels (a trailing dot allowed): EndpointSlice FQDN addresses. */
export function fullyQualifiedDomainName(value: string): string[] {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const asSubdomain = dns1123Subdomain(name);
  if (asSubdomain.length > 0) return [asSubdomain.join(',')];
  if (name.split('.').length < 2) return ['should be a domain with at least two segments separated by dots'];
  for (const part of name.split('.')) {
    const errors = dns1123Label(part);
    if (errors.length > 0) return [errors.join(',')];
  }
  return [];
}
