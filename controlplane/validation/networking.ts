/**
 * networking.k8s.io NetworkPolicy rules (upstream's pkg/apis/networking/validation). Every
 * selector, CIDR and port here becomes packet-filter rules on every node, so each is checked as
 * upstream checks it; the agent reads them again before rendering.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { FieldErrors } from './field-errors.ts';
import { checkString, isObject, isSet, objectAt, objectsOf, stringsOf, type Any } from './fields.ts';
import { validateLabelSelector } from './selectors.ts';
import { cidr as cidrProblems, isCidr, portName, portNumber } from '../../kube/name-formats.ts';

const protocols = ['TCP', 'UDP', 'SCTP'];
const policyTypes = ['Ingress', 'Egress'];

function validatePort(errors: FieldErrors, at: string, port: Any): void {
  if (isSet(port.protocol) && !protocols.includes(port.protocol))
    errors.notSupported(`${at}.protocol`, port.protocol, protocols);
  const endPort = port.endPort;
  if (!isSet(port.port)) {
    if (isSet(endPort)) errors.invalid(`${at}.endPort`, endPort, 'may not be specified when `port` is not specified');
    return;
  }
  if (typeof port.port === 'number') {
    errors.invalidEach(`${at}.port`, port.port, portNumber(port.port));
    if (!isSet(endPort)) return;
    if (typeof endPort !== 'number' || !Number.isInteger(endPort))
      return errors.wrongType(`${at}.endPort`, endPort, 'integer');
    if (endPort < port.port) errors.invalid(`${at}.endPort`, endPort, 'must be greater than or equal to `port`');
    errors.invalidEach(`${at}.endPort`, endPort, portNumber(endPort));
    return;
  }
  if (isSet(endPort)) errors.invalid(`${at}.endPort`, endPort, 'may not be specified when `port` is non-numeric');
  if (typeof port.port === 'string') errors.invalidEach(`${at}.port`, port.port, portName(port.port));
}

/** cidr/prefix, or undefined when the text is no CIDR (already reported). */
function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  if (!isCidr(text)) return undefined;
  const [address = '', prefix = ''] = text.split('/');
  return { address, prefix: Number(prefix), family: isIPv4(address) ? 'ipv4' : 'ipv6' };
}

/**
 * An ipBlock: a CIDR, and exceptions that must lie strictly inside it. On update, any CIDR text
 * the stored policy already held is taken as it is (upstream lets old, sloppy values stay).
 */
function validateIpBlock(errors: FieldErrors, at: string, block: Any, keep: ReadonlySet<string>): void {
  if (!checkString(errors, `${at}.cidr`, block.cidr, undefined, true)) return;
  const check = (path: string, text: string) => {
    if (!keep.has(text)) errors.invalidEach(path, text, cidrProblems(text));
  };
  check(`${at}.cidr`, block.cidr);
  const outer = parseCidr(block.cidr);
  if (outer === undefined) return;
  const inside = new BlockList();
  inside.addSubnet(outer.address, outer.prefix, outer.family);
  for (const [text, path] of stringsOf(errors, `${at}.except`, block.except)) {
    check(path, text);
    const inner = parseCidr(text);
    if (inner === undefined) continue;
    if (inner.family !== outer.family || !inside.check(inner.address, inner.family) || outer.prefix >= inner.prefix)
      errors.invalid(path, text, 'must be a strict subset of `cidr`');
  }
}

function validatePeer(errors: FieldErrors, at: string, peer: Any, keep: ReadonlySet<string>): void {
  let kinds = 0;
  if (isSet(peer.podSelector)) {
    kinds++;
    validateLabelSelector(errors, `${at}.podSelector`, peer.podSelector);
  }
  if (isSet(peer.namespaceSelector)) {
    kinds++;
    validateLabelSelector(errors, `${at}.namespaceSelector`, peer.namespaceSelector);
  }
  const block = objectAt(errors, `${at}.ipBlock`, peer.ipBlock);
  if (block !== undefined) {
    kinds++;
    validateIpBlock(errors, `${at}.ipBlock`, block, keep);
  }
  if (kinds === 0) errors.required(at, 'must specify a peer');
  else if (kinds > 1 && block !== undefined) errors.forbidden(at, 'may not specify both ipBlock and another peer');
}

/** The CIDR texts of a stored policy's ipBlocks (cidr and except), which an update may keep. */
function storedCidrs(old: Any | undefined): Set<string> {
  const texts = new Set<string>();
  const spec = isObject(old?.spec) ? old.spec : {};
  for (const [direction, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    for (const rule of Array.isArray(spec[direction]) ? spec[direction] : []) {
      for (const peer of isObject(rule) && Array.isArray(rule[peers]) ? rule[peers] : []) {
        const block = isObject(peer) ? peer.ipBlock : undefined;
        if (!isObject(block)) continue;
        if (typeof block.cidr === 'string') texts.add(block.cidr);
        for (const text of Array.isArray(block.except) ? block.except : [])
          if (typeof text === 'string') texts.add(text);
      }
    }
  }
  return texts;
}

export function validateNetworkPolicy(errors: FieldErrors, o: Any, old: Any | undefined): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  const keep = storedCidrs(old);
  validateLabelSelector(errors, 'spec.podSelector', spec.podSelector);
  for (const [direction, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    for (const [rule, at] of objectsOf(errors, `spec.${direction}`, spec[direction])) {
      for (const [port, portAt] of objectsOf(errors, `${at}.ports`, rule.ports)) validatePort(errors, portAt, port);
      for (const [peer, peerAt] of objectsOf(errors, `${at}.${peers}`, rule[peers]))
        validatePeer(errors, peerAt, peer, keep);
    }
  }
  const types = stringsOf(errors, 'spec.policyTypes', spec.policyTypes);
  if (types.length > policyTypes.length) {
    errors.invalid('spec.policyTypes', spec.policyTypes, 'may not specify more than two policyTypes');
    return;
  }
  for (const [type, at] of types) if (!policyTypes.includes(type)) errors.notSupported(at, type, policyTypes);
}
