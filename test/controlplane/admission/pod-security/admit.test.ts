/**
 * Pod Security in a request: the audit annotations and warnings it leaves on the request context
 * (for the audit log and the `Warning` headers), the refusal it throws, and which writes it skips.
 */
import test from 'ava';
import { admitPodSecurity } from '../../../../controlplane/admission/pod-security/admit.ts';
import { defaultPodSecurityConfig } from '../../../../controlplane/admission/pod-security/config.ts';
import { findResource } from '../../../../controlplane/api/resources.ts';
import { auditAnnotations, requestWarnings, runRequest } from '../../../../controlplane/api/request-context.ts';
import type { AdmissionRequest } from '../../../../controlplane/api/registry.ts';
import type { KubeObject } from '../../../../kube/types.ts';

const pods = findResource('', 'v1', 'pods')!;
const deployments = findResource('apps', 'v1', 'deployments')!;
const user = { name: 'alice', uid: '', groups: ['system:authenticated'] };

const hostileSpec = { hostNetwork: true, containers: [{ name: 'app', image: 'busybox' }] };
const lookups = (labels: Record<string, string>) => ({
  namespace: async (name: string): Promise<KubeObject> => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  }),
  pods: async (): Promise<KubeObject[]> => [],
});

function inRequest<T>(body: () => Promise<T>) {
  return runRequest({ user, dryRun: false }, async () => {
    const outcome = await body().then(
      () => undefined,
      (err: unknown) => err,
    );
    return { outcome, annotations: { ...auditAnnotations() }, warnings: [...requestWarnings()] };
  });
}

test('a refused pod leaves the enforce policy and the audit violation on the request for the audit log', async (t) => {
  const request: AdmissionRequest = {
    operation: 'CREATE',
    info: pods,
    subresource: undefined,
    old: undefined,
    object: { metadata: { name: 'x', namespace: 'team' }, spec: hostileSpec } as KubeObject,
  };
  const seen = await inRequest(() =>
    admitPodSecurity(request, defaultPodSecurityConfig, lookups({ 'pod-security.kubernetes.io/enforce': 'baseline' })),
  );
  t.is((seen.outcome as { code?: number }).code, 403);
  t.deepEqual(seen.annotations, {
    'pod-security.kubernetes.io/enforce-policy': 'baseline:latest',
    'pod-security.kubernetes.io/audit-violations':
      'would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
  });
  t.deepEqual(seen.warnings, []);
});

test('a workload template is warned about, audited and stored; an unchanged pod update is not evaluated', async (t) => {
  const deployment = {
    metadata: { name: 'd', namespace: 'team' },
    spec: { template: { metadata: {}, spec: hostileSpec } },
  } as KubeObject;
  const seen = await inRequest(() =>
    admitPodSecurity(
      { operation: 'CREATE', info: deployments, subresource: undefined, old: undefined, object: deployment },
      defaultPodSecurityConfig,
      lookups({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'baseline' }),
    ),
  );
  t.is(seen.outcome, undefined);
  t.deepEqual(seen.warnings, ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)']);
  t.regex(
    seen.annotations['pod-security.kubernetes.io/audit-violations'] ?? '',
    /^would violate PodSecurity "baseline:latest"/,
  );
  const pod = { metadata: { name: 'x', namespace: 'team', labels: { a: 'b' } }, spec: hostileSpec } as KubeObject;
  const relabelled = await inRequest(() =>
    admitPodSecurity(
      {
        operation: 'UPDATE',
        info: pods,
        subresource: undefined,
        old: { ...pod, metadata: { ...pod.metadata, labels: {} } },
        object: pod,
      },
      defaultPodSecurityConfig,
      lookups({ 'pod-security.kubernetes.io/enforce': 'restricted' }),
    ),
  );
  t.is(relabelled.outcome, undefined, 'a pod that already runs is not refused for a label change');
  t.deepEqual(relabelled.annotations, {});
});
