/**
 * NetworkPolicy → packet-filter model, pure: the cluster's policies, pods and namespaces in, the
 * chains and address sets for this node's pods out (see ruleset.ts for how a packet walks them).
 *
 * Upstream's semantics, in short: a pod is isolated in a direction once any policy of that type
 * selects it; then only traffic that some rule of some selecting policy allows passes. A rule
 * allows traffic matching one of its peers (all when it lists none) and one of its ports (all when
 * it lists none). Replies always pass. A peer's podSelector alone means the policy's namespace,
 * namespaceSelector alone every pod of the selected namespaces, both together their intersection.
 * Named ports are resolved per pod: on the selected pod for ingress, on the destination for egress.
 *
 * Everything read here was validated by the API server, and is read defensively again: a port,
 * peer or selector that does not parse makes its rule allow nothing, never everything.
 */
import { isIPv4 } from 'node:net';
import { matchesLabels, selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../../kube/labels.ts';
import { isCidr } from '../../kube/name-formats.ts';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../../kube/networkingv1.ts';
import {
  allowBits,
  chainName,
  fixedChains,
  setName,
  type Address,
  type AddressSet,
  type Direction,
  type Protocol,
  type Rule,
  type Ruleset,
} from './ruleset.ts';

/** A pod as the compiler sees it: only pods with an address on the pod network take part. */
export interface PodView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
  /** Runs on this node: its policies are enforced here. */
  readonly local: boolean;
  readonly ports: readonly { readonly name: string; readonly port: number; readonly protocol: Protocol }[];
}

export interface NamespaceView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface CompileInput {
  readonly policies: readonly NetworkPolicy[];
  readonly pods: readonly PodView[];
  readonly namespaces: readonly NamespaceView[];
}

const protocols: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

type PortSpec =
  | { readonly protocol: Protocol; readonly range?: readonly [number, number] }
  | { readonly protocol: Protocol; readonly name: string };
type PeerSpec =
  | { readonly pods: LabelSelector | undefined; readonly namespaces: LabelSelector | undefined }
  | { readonly cidr: string; readonly except: readonly string[] };
/** A rule's peers and ports; undefined lists mean "all"; null: the rule does not parse and allows nothing. */
type RuleSpec = {
  readonly peers: readonly PeerSpec[] | undefined;
  readonly ports: readonly PortSpec[] | undefined;
} | null;

interface ParsedPolicy {
  readonly key: string;
  readonly namespace: string;
  readonly selector: LabelSelector;
  readonly rules: Readonly<Record<Direction, readonly RuleSpec[] | undefined>>;
}

const isPortNumber = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

function parsePort(port: NetworkPolicyPort): PortSpec | undefined {
  const protocol = port.protocol ?? 'TCP';
  if (!protocols.includes(protocol)) return undefined;
  if (port.port === undefined || port.port === null) return port.endPort === undefined ? { protocol } : undefined;
  if (typeof port.port === 'string')
    return /^[a-z0-9-]{1,15}$/.test(port.port) ? { protocol, name: port.port } : undefined;
  const end = port.endPort ?? port.port;
  if (!isPortNumber(port.port) || !isPortNumber(end) || end < port.port) return undefined;
  return { protocol, range: [port.port, end] };
}

function parseSelector(selector: LabelSelectorObject | undefined): LabelSelector | undefined {
  if (selector === undefined || selector === null) return undefined;
  const parsed = selectorFromObject(selector);
  const known = ['Equals', 'In', 'NotIn', 'Exists', 'DoesNotExist'];
  if (parsed.some((r) => !known.includes(r.operator) || typeof r.key !== 'string' || !Array.isArray(r.values)))
    throw new Error('selector does not parse');
  return parsed;
}

function parsePeer(peer: NetworkPolicyPeer): PeerSpec | undefined {
  if (peer.ipBlock) {
    const { cidr, except = [] } = peer.ipBlock;
    if (typeof cidr !== 'string' || !isCidr(cidr) || !Array.isArray(except)) return undefined;
    if (!except.every((e) => typeof e === 'string' && isCidr(e))) return undefined;
    return { cidr, except };
  }
  if (!peer.podSelector && !peer.namespaceSelector) return undefined;
  return { pods: parseSelector(peer.podSelector), namespaces: parseSelector(peer.namespaceSelector) };
}

/** A list field: undefined when absent or empty (meaning "all"), null when any item does not parse. */
function parseList<T, U>(items: readonly T[] | undefined, parse: (item: T) => U | undefined): U[] | undefined | null {
  if (items === undefined || items === null || (Array.isArray(items) && items.length === 0)) return undefined;
  if (!Array.isArray(items)) return null;
  const out: U[] = [];
  for (const item of items) {
    const parsed = item !== null && typeof item === 'object' ? parse(item) : undefined;
    if (parsed === undefined) return null;
    out.push(parsed);
  }
  return out;
}

function parseRules(
  rules: readonly { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[] }[] | undefined,
  peersOf: 'from' | 'to',
): RuleSpec[] {
  return (Array.isArray(rules) ? rules : []).map((rule) => {
    try {
      const ports = parseList(rule?.ports, parsePort);
      const peers = parseList(rule?.[peersOf], parsePeer);
      return ports === null || peers === null ? null : { ports, peers };
    } catch {
      return null;
    }
  });
}

/** The policy's types: as written, else upstream's default (Ingress, and Egress when it has egress rules). */
function typesOf(policy: NetworkPolicy): Set<string> {
  const spec = policy.spec ?? {};
  if (Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0) return new Set(spec.policyTypes);
  return new Set(Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
}

function parsePolicy(policy: NetworkPolicy): ParsedPolicy | undefined {
  const namespace = policy.metadata.namespace ?? '';
  const key = `${namespace}/${policy.metadata.name ?? ''}`;
  let selector: LabelSelector;
  try {
    selector = parseSelector(policy.spec?.podSelector ?? {}) ?? [];
  } catch {
    // a selector that does not parse selects nothing we could name; the pods keep their other policies
    return undefined;
  }
  const types = typesOf(policy);
  return {
    key,
    namespace,
    selector,
    rules: {
      ingress: types.has('Ingress') ? parseRules(policy.spec?.ingress, 'from') : undefined,
      egress: types.has('Egress') ? parseRules(policy.spec?.egress, 'to') : undefined,
    },
  };
}

/** Collects address sets by content while chains are built. */
class SetCollector {
  readonly sets = new Map<string, AddressSet>();
  readonly #byMembers = new Map<string, Address | undefined>();

  /** An address for these IPs: none when empty (the rule can never match), a plain match for one. */
  ips(ips: readonly string[]): Address | undefined {
    const unique = [...new Set(ips)].sort();
    const key = unique.join(',');
    if (this.#byMembers.has(key)) return this.#byMembers.get(key);
    let address: Address | undefined;
    if (unique.length === 1) address = { cidr: `${unique[0]}/32` };
    else if (unique.length > 1) address = this.#add({ type: 'hash:ip', members: unique.map((entry) => ({ entry })) });
    this.#byMembers.set(key, address);
    return address;
  }

  /** An ipBlock: a plain CIDR match, or a hash:net set when it has exceptions. IPv4 only. */
  block(cidr: string, except: readonly string[]): Address | undefined {
    if (!isIPv4(cidr.split('/')[0]!)) return undefined;
    const inner = except.filter((e) => isIPv4(e.split('/')[0]!));
    if (inner.length === 0) return { cidr };
    // hash:net takes prefixes /1 to /32: the whole address space is its two halves
    const outer = cidr.endsWith('/0') ? ['0.0.0.0/1', '128.0.0.0/1'] : [cidr];
    return this.#add({
      type: 'hash:net',
      members: [
        ...outer.map((entry) => ({ entry })),
        ...[...new Set(inner)].sort().map((entry) => ({ entry, nomatch: true as const })),
      ],
    });
  }

  #add(set: AddressSet): Address {
    const name = setName(set);
    this.sets.set(name, set);
    return { set: name };
  }
}

interface Context {
  readonly pods: readonly PodView[];
  readonly podsByNamespace: ReadonlyMap<string, readonly PodView[]>;
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly sets: SetCollector;
  /** Peers repeat across policies (the same selectors written again and again): resolved once. */
  readonly peers: Map<string, { address: Address | undefined; pods: readonly PodView[] }>;
}

/** The pods a peer selects, anywhere in the cluster. */
function peerPods(peer: Exclude<PeerSpec, { cidr: string }>, policyNamespace: string, ctx: Context): PodView[] {
  const namespaces =
    peer.namespaces === undefined
      ? [policyNamespace]
      : [...ctx.namespaceLabels].filter(([, labels]) => matchesLabels(peer.namespaces!, labels)).map(([name]) => name);
  const pods: PodView[] = [];
  for (const namespace of namespaces) {
    for (const pod of ctx.podsByNamespace.get(namespace) ?? []) {
      if (peer.pods === undefined || matchesLabels(peer.pods, pod.labels)) pods.push(pod);
    }
  }
  return pods;
}

/** A peer's address and pods, resolved once per compile for each distinct (namespace, peer). */
function resolvePeer(
  peer: PeerSpec,
  policyNamespace: string,
  ctx: Context,
): { address: Address | undefined; pods: readonly PodView[] } {
  const key = 'cidr' in peer ? JSON.stringify(peer) : `${policyNamespace} ${JSON.stringify(peer)}`;
  let resolved = ctx.peers.get(key);
  if (resolved === undefined) {
    if ('cidr' in peer) resolved = { address: ctx.sets.block(peer.cidr, peer.except), pods: [] };
    else {
      const pods = peerPods(peer, policyNamespace, ctx);
      resolved = { address: ctx.sets.ips(pods.map((p) => p.ip)), pods };
    }
    ctx.peers.set(key, resolved);
  }
  return resolved;
}

/** The port a pod's named port stands for, or undefined when no container port carries that name and protocol. */
function resolveNamedPort(pod: PodView, name: string, protocol: Protocol): number | undefined {
  return pod.ports.find((p) => p.name === name && p.protocol === protocol)?.port;
}

/**
 * One policy's rules for one direction, as a chain whose matching rules set the direction's allow
 * bit. `selected` are this node's pods that the policy selects (named ingress ports resolve on them).
 */
function policyChain(policy: ParsedPolicy, direction: Direction, selected: readonly PodView[], ctx: Context): Rule[] {
  const rules: Rule[] = [];
  const bit = allowBits[direction];
  const peerSide = direction === 'ingress' ? 'src' : 'dst';
  const comment = `${policy.key} ${direction}`;
  const allow = (match: Rule['match']) => rules.push({ match, target: { setBit: bit }, comment });
  for (const rule of policy.rules[direction] ?? []) {
    if (rule === null) continue;
    // every peer as (address or undefined for "any"), plus the pods behind it for named egress ports
    const peers: { address: Address | undefined; pods: readonly PodView[] }[] = [];
    if (rule.peers === undefined) peers.push({ address: undefined, pods: ctx.pods });
    else {
      for (const peer of rule.peers) {
        const resolved = resolvePeer(peer, policy.namespace, ctx);
        if (resolved.address) peers.push({ address: resolved.address, pods: resolved.pods });
      }
    }
    for (const peer of peers) {
      const at = peer.address ? { [peerSide]: peer.address } : {};
      if (rule.ports === undefined) {
        allow(at);
        continue;
      }
      for (const port of rule.ports) {
        if (!('name' in port)) {
          allow({ ...at, protocol: port.protocol, ...(port.range ? { ports: port.range } : {}) });
          continue;
        }
        // named: the number differs per pod, so each pod that has the name gets its own match
        const resolvedOn = direction === 'ingress' ? selected : peer.pods;
        const byNumber = new Map<number, string[]>();
        for (const pod of resolvedOn) {
          const number = resolveNamedPort(pod, port.name, port.protocol);
          if (number !== undefined) byNumber.set(number, [...(byNumber.get(number) ?? []), pod.ip]);
        }
        for (const [number, ips] of [...byNumber].sort((a, b) => a[0] - b[0])) {
          const owners = ctx.sets.ips(ips);
          if (owners === undefined) continue;
          const ends = direction === 'ingress' ? { ...at, dst: owners } : { dst: owners };
          allow({ ...ends, protocol: port.protocol, ports: [number, number] });
        }
      }
    }
  }
  return rules;
}

/** The model for this node's pods (`local` in the input); deterministic for the same input. */
export function compile(input: CompileInput): Ruleset {
  const pods = [...input.pods].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  const podsByNamespace = new Map<string, PodView[]>();
  for (const pod of pods) {
    const list = podsByNamespace.get(pod.namespace);
    if (list) list.push(pod);
    else podsByNamespace.set(pod.namespace, [pod]);
  }
  const ctx: Context = {
    pods,
    podsByNamespace,
    namespaceLabels: new Map(input.namespaces.map((n) => [n.name, n.labels])),
    sets: new SetCollector(),
    peers: new Map(),
  };
  const policies = input.policies
    .map(parsePolicy)
    .filter((p): p is ParsedPolicy => p !== undefined)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const localPods = ctx.pods.filter((p) => p.local);
  const localByNamespace = new Map<string, PodView[]>();
  for (const pod of localPods)
    localByNamespace.set(pod.namespace, [...(localByNamespace.get(pod.namespace) ?? []), pod]);

  const chains = new Map<string, Rule[]>();
  const top: Rule[] = [{ match: { replies: true }, target: 'RETURN', comment: 'replies pass' }];
  chains.set(fixedChains.top, top);
  chains.set(fixedChains.dropIngress, [{ match: {}, target: 'DROP' }]);
  chains.set(fixedChains.dropEgress, [{ match: {}, target: 'DROP' }]);

  for (const direction of ['egress', 'ingress'] as const) {
    // which policies of this direction select each local pod
    const selecting = new Map<PodView, ParsedPolicy[]>();
    const selectedBy = new Map<ParsedPolicy, PodView[]>();
    for (const policy of policies) {
      if (policy.rules[direction] === undefined) continue;
      const pods = localPods.filter(
        (p) => p.namespace === policy.namespace && matchesLabels(policy.selector, p.labels),
      );
      if (pods.length === 0) continue;
      selectedBy.set(policy, pods);
      for (const pod of pods) {
        const those = selecting.get(pod);
        if (those) those.push(policy);
        else selecting.set(pod, [policy]);
      }
    }
    const policyChains = new Map<ParsedPolicy, string>();
    for (const [policy, pods] of selectedBy) {
      const name = chainName(direction === 'ingress' ? 'POLI' : 'POLE', policy.key);
      policyChains.set(policy, name);
      chains.set(name, policyChain(policy, direction, pods, ctx));
    }
    const bit = allowBits[direction];
    const drop = direction === 'ingress' ? fixedChains.dropIngress : fixedChains.dropEgress;
    for (const pod of localPods) {
      const those = selecting.get(pod);
      if (those === undefined) continue;
      // pods isolated by the same policies share one chain
      const podChain = chainName(direction === 'ingress' ? 'PODI' : 'PODE', those.map((p) => p.key).join('\n'));
      if (!chains.has(podChain)) {
        chains.set(podChain, [
          { match: {}, target: { clearBit: bit } },
          ...those.map((p): Rule => ({ match: {}, target: { jump: policyChains.get(p)! } })),
          { match: { markBit: bit }, target: 'RETURN' },
          { match: {}, target: { jump: drop }, comment: `${direction} not allowed by policy` },
        ]);
      }
      const side = direction === 'ingress' ? 'dst' : 'src';
      top.push({
        match: { [side]: { cidr: `${pod.ip}/32` } },
        target: { jump: podChain },
        comment: `${pod.namespace}/${pod.name} ${direction}`,
      });
    }
  }
  return { chains, sets: ctx.sets.sets };
}
