/**
 * Admission of a delete, as upstream admits one: the validating plugins judge the stored object
 * (oldObject; object is null). Here those are ValidatingAdmissionPolicy, then the validating
 * webhooks; the built-in plugins have nothing to say about a delete.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { AdmitDelete } from '../api/registry.ts';
import type { ResourceInfo } from '../api/resources.ts';
import { runValidatingAdmissionPolicies, type PolicyLookups } from './policies/admit-policies.ts';
import { runValidatingWebhooks, type WebhookLookups } from './webhooks/dispatch.ts';

export function deletionAdmission(deps: { webhooks?: WebhookLookups; policies?: PolicyLookups }): AdmitDelete {
  return async (info: ResourceInfo, stored: KubeObject) => {
    const request = { operation: 'DELETE' as const, info, subresource: undefined, object: stored, old: stored };
    if (deps.policies) await runValidatingAdmissionPolicies(request, deps.policies);
    if (deps.webhooks) await runValidatingWebhooks(request, deps.webhooks);
  };
}
