/**
 * What a record must look like before it enters the zone. The zone is built from API objects that
 * the API server should have validated, but the node does not rely on it (an older server, a bug,
 * a datastore edited by hand): a name or port that the wire format cannot carry would make the
 * packet encoder throw (or, worse, write a packet that no client can decode) on every query that
 * touches it. Such a record is left out; the rest of the zone is served.
 */

/** Longest name on the wire, in presentation form without the trailing dot (RFC 1035 §2.3.4). */
const maxNameLength = 253;
/** Longest label (RFC 1035 §2.3.4). */
const maxLabelLength = 63;
/** Letters, digits, hyphens; underscores for the service labels of SRV names (RFC 2782). */
const labelPattern = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** A lower-case host name with dot-separated labels that the wire format can carry unchanged. */
export function isServableName(name: string): boolean {
  if (name.length === 0 || name.length > maxNameLength) return false;
  return name.split('.').every((label) => label.length <= maxLabelLength && labelPattern.test(label));
}

/** A port an SRV record can carry: an integer 1..65535, as a Service port must be. */
export function isServablePort(port: unknown): port is number {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535;
}
