/**
 * What each built-in signer is willing to sign, checked by the approver before it approves and by
 * the signer again right before it signs, whatever the request's conditions say (a condition may
 * have been written by anyone who could write the object). The rules and their wording are
 * upstream's (the kubelet signers' subject, name and usage rules; the client signer's usages),
 * plus one of bosun's own: no certificate for the group system:masters, from any signer, ever:
 * that group is cluster-admin without RBAC, and the CSR API is open to bootstrap tokens.
 */
import type { ParsedRequest } from './csr.ts';

export const mastersGroup = 'system:masters';

const kubeletClient = 'kubernetes.io/kube-apiserver-client-kubelet';
const kubeletServing = 'kubernetes.io/kubelet-serving';
const apiServerClient = 'kubernetes.io/kube-apiserver-client';

/** Signers this control plane signs for; any other signer's requests are left to whoever serves it. */
export const servedSigners: ReadonlySet<string> = new Set([kubeletClient, kubeletServing, apiServerClient]);

/** Usages as a sorted key, to compare sets the way upstream does (exactly one of the allowed sets). */
const usageKey = (usages: Iterable<string>) => [...new Set(usages)].sort().join(',');

const kubeletClientUsages = [
  usageKey(['digital signature', 'key encipherment', 'client auth']),
  usageKey(['digital signature', 'client auth']),
];
const kubeletServingUsages = [
  usageKey(['digital signature', 'key encipherment', 'server auth']),
  usageKey(['digital signature', 'server auth']),
];
const optionalClientUsages = new Set(['digital signature', 'key encipherment']);

/** Why `signerName` will not sign this request, or undefined when it will. */
export function signerRefusal(
  signerName: string,
  request: ParsedRequest,
  usages: readonly string[],
): string | undefined {
  if (request.organizations.includes(mastersGroup))
    return `certificates for the group ${mastersGroup} are never issued through the certificates API`;
  switch (signerName) {
    case kubeletClient:
      return kubeletClientRefusal(request, usages);
    case kubeletServing:
      return kubeletServingRefusal(request, usages);
    case apiServerClient:
      return apiServerClientRefusal(usages);
    default:
      return `signer ${signerName} is not served by this control plane`;
  }
}

function kubeletClientRefusal(request: ParsedRequest, usages: readonly string[]): string | undefined {
  if (!onlySystemNodes(request)) return 'subject organization is not system:nodes';
  if (request.dnsNames.length > 0) return 'DNS subjectAltNames are not allowed';
  if (request.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed';
  if (request.ipAddresses.length > 0) return 'IP subjectAltNames are not allowed';
  if (request.uris.length > 0) return 'URI subjectAltNames are not allowed';
  if (!request.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  if (!kubeletClientUsages.includes(usageKey(usages)))
    return 'usages did not match [client auth digital signature key encipherment]';
  return undefined;
}

function kubeletServingRefusal(request: ParsedRequest, usages: readonly string[]): string | undefined {
  if (!onlySystemNodes(request)) return 'subject organization is not system:nodes';
  if (request.dnsNames.length === 0 && request.ipAddresses.length === 0) return 'DNS or IP subjectAltName is required';
  if (request.emailAddresses.length > 0) return 'Email subjectAltNames are not allowed';
  if (request.uris.length > 0) return 'URI subjectAltNames are not allowed';
  if (!kubeletServingUsages.includes(usageKey(usages)))
    return 'usages did not match [digital signature key encipherment server auth]';
  if (!request.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  return undefined;
}

function apiServerClientRefusal(usages: readonly string[]): string | undefined {
  for (const usage of usages) {
    if (usage !== 'client auth' && !optionalClientUsages.has(usage))
      return `invalid usage for client certificate: ${usage}`;
  }
  if (!usages.includes('client auth')) return 'missing required usage for client certificate: client auth';
  return undefined;
}

function onlySystemNodes(request: ParsedRequest): boolean {
  return request.organizations.length === 1 && request.organizations[0] === 'system:nodes';
}
