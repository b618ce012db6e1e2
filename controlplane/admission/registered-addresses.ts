/**
 * The addresses a node had when it first registered them, recorded by the server in an annotation
 * of its Node: the only addresses (besides the node's own name) that its serving certificate may
 * name and still be approved without a person. A node writes its own status, so status.addresses
 * says whatever the node says today; a compromised node could add the API server's or another
 * node's address there and get a serving certificate for it. The record is made once, from the
 * first write that carries addresses (the node's create, or its first status write), and every
 * later write keeps it: no client, the node included, can set or change it. A node that really
 * moves to a new address deletes and registers its Node again (or an administrator approves).
 */
import type { AdmissionRequest } from '../api/registry.ts';

const registeredAddressesAnnotation = 'node.bosun.dev/registered-addresses';

type Any = Record<string, any>;

export function recordRegisteredAddresses(request: AdmissionRequest): void {
  const { info, operation } = request;
  if (info.group !== '' || info.resource !== 'nodes' || (operation !== 'CREATE' && operation !== 'UPDATE')) return;
  const metadata = request.object.metadata;
  const recorded = (request.old?.metadata.annotations as Record<string, string> | undefined)?.[
    registeredAddressesAnnotation
  ];
  const addresses = recorded ?? addressesOf(request.object as Any).join(',');
  const annotations: Record<string, string> = { ...(metadata.annotations as Record<string, string> | undefined) };
  if (addresses === '') delete annotations[registeredAddressesAnnotation];
  else annotations[registeredAddressesAnnotation] = addresses;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
}

/** The recorded addresses of a Node object (empty when it has not registered any yet). */
export function registeredAddresses(node: { metadata?: { annotations?: Record<string, string> } }): string[] {
  return (node.metadata?.annotations?.[registeredAddressesAnnotation] ?? '').split(',').filter((a) => a !== '');
}

function addressesOf(node: Any): string[] {
  const list: unknown = node.status?.addresses;
  if (!Array.isArray(list)) return [];
  return list
    .map((a: Any) => a?.address)
    .filter((a): a is string => typeof a === 'string' && a !== '' && !a.includes(','));
}
