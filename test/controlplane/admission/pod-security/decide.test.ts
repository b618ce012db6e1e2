/**
 * Pod Security admission's decisions from objects alone: which policy a namespace's labels select,
 * what enforce, warn and audit answer for pods and workload templates, exemptions, label problems,
 * the existing pods a stricter namespace level would refuse, and `--pod-security-default`.
 */
import test from 'ava';
import {
  defaultPodSecurityConfig,
  parsePodSecurityDefault,
  podSecurityDefaultForLevel,
  podSecurityConfigFromFlags,
  type PodSecurityConfig,
} from '../../../../controlplane/admission/pod-security/config.ts';
import {
  decideNamespace,
  decidePodLike,
  existingPodWarnings,
  isSignificantPodUpdate,
  type PodLikeRequest,
} from '../../../../controlplane/admission/pod-security/decide.ts';
import { formatLevelVersion, policyFromLabels } from '../../../../controlplane/admission/pod-security/level.ts';
import type { PodSpecView } from '../../../../controlplane/admission/pod-security/pod-view.ts';

const hostile: PodSpecView = {
  hostNetwork: true,
  containers: [{ name: 'app', image: 'busybox' }],
  volumes: [{ name: 'h', hostPath: { path: '/' } }],
};
const plain: PodSpecView = { containers: [{ name: 'app', image: 'busybox' }] };

function podRequest(
  labels: Record<string, string> | undefined,
  spec: PodSpecView,
  more: Partial<PodLikeRequest> = {},
): PodLikeRequest {
  return {
    resource: 'pods',
    name: 'x',
    namespace: 'team',
    namespaceLabels: labels,
    username: 'alice',
    meta: { name: 'x' },
    spec,
    enforce: true,
    ...more,
  };
}

test('labels: each mode reads its level and version; what is not named comes from the defaults; a stricter enforce raises warn', (t) => {
  const { policy, problems } = policyFromLabels(
    { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.29' },
    defaultPodSecurityConfig.defaults,
  );
  t.deepEqual(problems, []);
  t.is(formatLevelVersion(policy.enforce), 'restricted:v1.29');
  t.is(formatLevelVersion(policy.warn), 'restricted:v1.29', 'warn follows a stricter enforce when it is not set');
  t.is(formatLevelVersion(policy.audit), 'baseline:latest');
  const bad = policyFromLabels(
    { 'pod-security.kubernetes.io/enforce': 'strict', 'pod-security.kubernetes.io/warn-version': 'v2' },
    defaultPodSecurityConfig.defaults,
  );
  t.is(bad.policy.enforce.level, 'restricted', 'an unreadable enforce level fails closed');
  t.deepEqual(
    bad.problems.map((p) => p.message),
    ['must be one of privileged, baseline, restricted', 'must be "latest" or "v1.x"'],
  );
});

test('enforce refuses a pod with upstream message and 403; warn and audit name the level they check', (t) => {
  const refused = decidePodLike(
    defaultPodSecurityConfig,
    podRequest({ 'pod-security.kubernetes.io/enforce': 'baseline' }, hostile),
  );
  t.is(refused.refusal?.code, 403);
  t.is(
    refused.refusal?.message,
    'pods "x" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "h")',
  );
  t.deepEqual(refused.warnings, [], 'a refused request carries no warnings');
  t.is(refused.annotations['enforce-policy'], 'baseline:latest');
  t.is(
    refused.annotations['audit-violations'],
    'would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "h")',
  );
  const warned = decidePodLike(
    defaultPodSecurityConfig,
    podRequest({ 'pod-security.kubernetes.io/warn': 'restricted' }, plain),
  );
  t.is(warned.refusal, undefined);
  t.deepEqual(warned.warnings, [
    'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  ]);
  t.deepEqual(
    decidePodLike(defaultPodSecurityConfig, podRequest(undefined, plain)),
    { warnings: [], annotations: { 'enforce-policy': 'privileged:latest' } },
    'the defaults let a plain pod through silently',
  );
  t.deepEqual(
    decidePodLike(defaultPodSecurityConfig, podRequest(undefined, hostile)).warnings,
    ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "h")'],
    'by default baseline warns',
  );
});

test('workload templates are only warned and audited, never refused', (t) => {
  const outcome = decidePodLike(
    defaultPodSecurityConfig,
    podRequest({ 'pod-security.kubernetes.io/enforce': 'restricted' }, hostile, {
      resource: 'deployments',
      enforce: false,
    }),
  );
  t.is(outcome.refusal, undefined);
  t.is(outcome.warnings.length, 1);
  t.regex(outcome.warnings[0]!, /^would violate PodSecurity "restricted:latest": host namespaces/);
  t.is(outcome.annotations['enforce-policy'], undefined);
});

test('exemptions: namespaces (kube-system by default), users and runtime classes', (t) => {
  const strict = { 'pod-security.kubernetes.io/enforce': 'restricted' };
  t.deepEqual(decidePodLike(defaultPodSecurityConfig, podRequest(strict, hostile, { namespace: 'kube-system' })), {
    warnings: [],
    annotations: { exempt: 'namespace' },
  });
  const config: PodSecurityConfig = {
    ...defaultPodSecurityConfig,
    exemptions: { namespaces: [], usernames: ['system:serviceaccount:ops:deployer'], runtimeClasses: ['kata'] },
  };
  t.is(
    decidePodLike(config, podRequest(strict, hostile, { namespace: 'kube-system' })).refusal?.code,
    403,
    'kube-system is checked when not listed',
  );
  t.deepEqual(
    decidePodLike(config, podRequest(strict, hostile, { username: 'system:serviceaccount:ops:deployer' })).annotations,
    { exempt: 'user' },
  );
  t.deepEqual(decidePodLike(config, podRequest(strict, { ...hostile, runtimeClassName: 'kata' })).annotations, {
    exempt: 'runtimeClass',
  });
});

test('namespaces: unreadable labels are refused with 422 on create and when changed; a tightened enforce level checks the existing pods', (t) => {
  const created = decideNamespace(
    defaultPodSecurityConfig,
    'team',
    { 'pod-security.kubernetes.io/enforce': 'strict' },
    undefined,
    true,
  );
  t.is(created.refusal?.code, 422);
  t.is(
    created.refusal?.message,
    'Namespace "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
  );
  t.deepEqual(
    decideNamespace(defaultPodSecurityConfig, 'team', { 'pod-security.kubernetes.io/enforce': 'baseline' }, {}, false),
    { checkPodsAgainst: { level: 'baseline', version: 'latest' } },
  );
  t.deepEqual(
    decideNamespace(
      defaultPodSecurityConfig,
      'team',
      { 'pod-security.kubernetes.io/enforce': 'baseline' },
      { 'pod-security.kubernetes.io/enforce': 'restricted' },
      false,
    ),
    {},
    'a relaxed level checks nothing',
  );
  t.deepEqual(
    decideNamespace(
      defaultPodSecurityConfig,
      'kube-system',
      { 'pod-security.kubernetes.io/enforce': 'restricted' },
      {},
      false,
    ),
    {},
    'an exempt namespace checks nothing',
  );
  const pods = ['web-2', 'web-1', 'web-3', 'db'].map((name) => ({
    meta: { name },
    spec: name === 'db' ? { ...plain, hostPID: true } : hostile,
  }));
  pods.push({ meta: { name: 'fine' }, spec: plain });
  t.deepEqual(existingPodWarnings(defaultPodSecurityConfig, 'team', { level: 'baseline', version: 'latest' }, pods), [
    'existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"',
    'db: host namespaces',
    'web-1 (and 2 other pods): host namespaces, hostPath volumes',
  ]);
});

test('pod updates are checked only when an image or a seccomp annotation changes', (t) => {
  t.false(isSignificantPodUpdate({ name: 'x', annotations: { a: '1' } }, plain, { name: 'x' }, plain));
  t.true(isSignificantPodUpdate({}, { containers: [{ name: 'app', image: 'busybox:2' }] }, {}, plain));
  t.true(
    isSignificantPodUpdate(
      { annotations: { 'container.seccomp.security.alpha.kubernetes.io/app': 'unconfined' } },
      plain,
      {},
      plain,
    ),
  );
});

test('--pod-security-default: mode=level[:version], unnamed modes keep the defaults, mistakes name the flag', (t) => {
  const policy = parsePodSecurityDefault('enforce=baseline, warn=restricted:v1.30');
  t.deepEqual([policy.enforce, policy.warn, policy.audit].map(formatLevelVersion), [
    'baseline:latest',
    'restricted:v1.30',
    'baseline:latest',
  ]);
  t.throws(
    () =>
      podSecurityConfigFromFlags({
        default: 'enforce=strict',
        exemptNamespaces: '',
        exemptUsernames: '',
        exemptRuntimeClasses: '',
      }),
    { message: '--pod-security-default "enforce=strict": the level must be one of privileged, baseline, restricted' },
  );
  t.throws(() => parsePodSecurityDefault('deny=baseline'), { message: /the mode must be one of enforce, audit, warn/ });
  t.throws(() => parsePodSecurityDefault('warn=baseline:1.30'), { message: /the version must be "latest" or "v1.x"/ });
  t.deepEqual(
    podSecurityConfigFromFlags({
      default: '',
      exemptNamespaces: 'kube-system, ops',
      exemptUsernames: '',
      exemptRuntimeClasses: 'kata',
    }).exemptions,
    { namespaces: ['kube-system', 'ops'], usernames: [], runtimeClasses: ['kata'] },
  );
});

test('bosun init --pod-security <level>: that level enforced cluster-wide, warned and audited at least at baseline', (t) => {
  const strict = parsePodSecurityDefault(podSecurityDefaultForLevel('restricted'));
  t.deepEqual([strict.enforce, strict.audit, strict.warn].map(formatLevelVersion), [
    'restricted:latest',
    'restricted:latest',
    'restricted:latest',
  ]);
  const open = parsePodSecurityDefault(podSecurityDefaultForLevel('privileged'));
  t.deepEqual([open.enforce, open.audit, open.warn].map(formatLevelVersion), [
    'privileged:latest',
    'baseline:latest',
    'baseline:latest',
  ]);
});
