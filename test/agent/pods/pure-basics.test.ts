/** QoS class, spec hash, backoff and pull policy: small pure pieces with exact answers. */
import test from 'ava';
import { qosClassOf } from '../../../agent/pods/qos.ts';
import { containerSpecHash, specStillMatches } from '../../../agent/pods/spec-hash.ts';
import { recordStartFailure, restartDecision, type CrashLoopEntry } from '../../../agent/pods/backoff.ts';
import { pullPolicyOf } from '../../../agent/pods/defaults.ts';
import type { Container, PodQOSClass, ResourceRequirements } from '../../../kube/corev1.ts';
import { c, pod } from '../fixtures.ts';

const res = (requests?: Record<string, string>, limits?: Record<string, string>): ResourceRequirements => ({
  ...(requests ? { requests } : {}),
  ...(limits ? { limits } : {}),
});
const qosRows: { title: string; containers: Container[]; inits?: Container[]; qos: PodQOSClass }[] = [
  { title: 'no resources', containers: [c('a')], qos: 'BestEffort' },
  {
    title: 'limits only (requests default to them)',
    containers: [c('a', { resources: res(undefined, { cpu: '1', memory: '1Gi' }) })],
    qos: 'Guaranteed',
  },
  {
    title: 'requests equal limits',
    containers: [c('a', { resources: res({ cpu: '1', memory: '1Gi' }, { cpu: '1000m', memory: '1Gi' }) })],
    qos: 'Guaranteed',
  },
  {
    title: 'requests below limits',
    containers: [c('a', { resources: res({ cpu: '500m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' }) })],
    qos: 'Burstable',
  },
  {
    title: 'memory limit only',
    containers: [c('a', { resources: res(undefined, { memory: '1Gi' }) })],
    qos: 'Burstable',
  },
  {
    title: 'one guaranteed, one empty',
    containers: [c('a', { resources: res(undefined, { cpu: '1', memory: '1Gi' }) }), c('b')],
    qos: 'Burstable',
  },
  { title: 'zero requests count as unset', containers: [c('a', { resources: res({ cpu: '0' }) })], qos: 'BestEffort' },
  {
    title: 'an init container with requests',
    inits: [c('i', { resources: res({ cpu: '100m' }) })],
    containers: [c('a')],
    qos: 'Burstable',
  },
  {
    title: 'other resources do not count',
    containers: [c('a', { resources: res({ 'ephemeral-storage': '1Gi' }) })],
    qos: 'BestEffort',
  },
];
for (const row of qosRows) {
  test(`QoS class: ${row.title} -> ${row.qos}`, (t) => {
    t.is(
      qosClassOf(pod({ containers: row.containers, ...(row.inits ? { initContainers: row.inits } : {}) }).spec),
      row.qos,
    );
  });
}

test('spec hash: versioned, stable under empty defaults, blind to resources, sensitive to the image', (t) => {
  const base = c('app', { command: ['sh'], env: [{ name: 'A', value: '1' }] });
  const hash = containerSpecHash(base);
  t.regex(hash, /^v1\.[0-9a-f]{16}$/);
  t.is(containerSpecHash({ ...base, ports: [], args: [], securityContext: {} }), hash, 'empty values do not count');
  t.is(containerSpecHash({ ...base, env: [{ value: '1', name: 'A' }] }), hash, 'key order does not count');
  t.is(containerSpecHash({ ...base, resources: { limits: { cpu: '1' } } }), hash, 'resources are resized in place');
  t.is(containerSpecHash({ ...base, readinessProbe: { tcpSocket: { port: 1 } } }), hash, 'probes do not restart');
  t.not(containerSpecHash({ ...base, image: 'other:1' }), hash);
  t.true(specStillMatches(base, hash));
  t.false(specStillMatches({ ...base, image: 'other:1' }, hash));
  t.true(specStillMatches(base, 'v7.abcdef'), 'an unknown version is never a reason to restart');
});

test('crash-loop backoff: immediate, then 10 s doubling to 300 s', (t) => {
  let entry: CrashLoopEntry | undefined;
  let now = 0;
  const waits: number[] = [];
  for (let exit = 0; exit < 8; exit++) {
    const finishedAt = now + 1_000; // each run lasts a second
    let decision = restartDecision(entry, finishedAt, finishedAt);
    let waited = 0;
    while (decision.kind === 'wait') {
      waited = decision.until - finishedAt;
      decision = restartDecision(entry, finishedAt, decision.until);
    }
    waits.push(waited / 1000);
    entry = decision.entry;
    now = finishedAt + waited;
  }
  t.deepEqual(waits, [0, 10, 20, 40, 80, 160, 300, 300]);
});

test('crash-loop backoff: resets after ten minutes of clean running', (t) => {
  const entry: CrashLoopEntry = { delayMs: 160_000, lastExitAt: 0 };
  const soon = restartDecision(entry, 5 * 60_000, 5 * 60_000);
  t.is(soon.kind, 'wait');
  const late = restartDecision(entry, 11 * 60_000, 11 * 60_000);
  t.deepEqual(late, { kind: 'restart', entry: { delayMs: 10_000, lastExitAt: 11 * 60_000 } });
});

test('start-failure backoff: 10 s doubling to 300 s', (t) => {
  let failure = recordStartFailure(undefined, 'ErrImagePull', 'x', 0);
  const delays = [failure.delayMs];
  for (let i = 0; i < 6; i++) {
    failure = recordStartFailure(failure, 'ErrImagePull', 'x', failure.at + failure.delayMs);
    delays.push(failure.delayMs);
  }
  t.deepEqual(
    delays.map((d) => d / 1000),
    [10, 20, 40, 80, 160, 300, 300],
  );
});

test('pull policy defaults: latest or untagged pulls always', (t) => {
  t.is(pullPolicyOf(c('a', { image: 'busybox' })), 'Always');
  t.is(pullPolicyOf(c('a', { image: 'busybox:latest' })), 'Always');
  t.is(pullPolicyOf(c('a', { image: 'localhost:5000/busybox' })), 'Always');
  t.is(pullPolicyOf(c('a', { image: 'localhost:5000/busybox:1.35' })), 'IfNotPresent');
  t.is(pullPolicyOf(c('a', { image: 'busybox@sha256:abc' })), 'IfNotPresent');
  t.is(pullPolicyOf(c('a', { image: 'busybox', imagePullPolicy: 'Never' })), 'Never');
});
