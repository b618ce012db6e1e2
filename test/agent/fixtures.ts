/**
 * Builders for the agent's unit tests: pods from a few fields, and runtime observations written
 * as one short line per container, so that a table row reads like the situation it tests.
 */
import type { Container, Pod, PodSpec, RestartPolicy } from '../../kube/corev1.ts';
import type { ObservedContainer, ObservedPod, ObservedSandbox } from '../../agent/pods/observed.ts';
import { containerSpecHash } from '../../agent/pods/spec-hash.ts';

export const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const sec = (s: number) => t0 + s * 1000;

export function pod(spec: Partial<PodSpec> & { containers?: Container[] } = {}, name = 'web'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: '2026-01-01T11:59:59Z' },
    spec: { containers: [{ name: 'app', image: 'localhost/bosun/busybox:1.35' }], ...spec },
  };
}

export const c = (name: string, extra: Partial<Container> = {}): Container => ({
  name,
  image: 'localhost/bosun/busybox:1.35',
  ...extra,
});
export const sidecar = (name: string, extra: Partial<Container> = {}): Container =>
  c(name, { restartPolicy: 'Always', ...extra });

export function sandbox(attempt = 0, extra: Partial<ObservedSandbox> = {}): ObservedSandbox {
  return { id: `sb${attempt}`, attempt, ready: true, createdAt: sec(0), ip: '10.244.1.5', ...extra };
}

/**
 * One observed container. `state` is 'running' | 'created' | 'unknown' | 'exited:<code>'.
 * Times: started at `startedAt` seconds after t0, finished at `finishedAt`.
 */
export function seen(
  p: Pod,
  name: string,
  state: string,
  extra: Partial<ObservedContainer> & { startedAtS?: number; finishedAtS?: number } = {},
): ObservedContainer {
  const spec = [...(p.spec.initContainers ?? []), ...p.spec.containers, ...(p.spec.ephemeralContainers ?? [])].find(
    (x) => x.name === name,
  );
  if (spec === undefined) throw new Error(`fixture: pod has no container ${name}`);
  const [kind, code] = state.split(':');
  const attempt = extra.attempt ?? 0;
  const { startedAtS, finishedAtS, ...rest } = extra;
  return {
    id: `${name}-${attempt}-${extra.sandboxId ?? 'sb0'}`,
    sandboxId: 'sb0',
    name,
    attempt,
    state: kind as ObservedContainer['state'],
    specHash: containerSpecHash(spec),
    createdAt: sec(startedAtS ?? 1),
    startedAt: sec(startedAtS ?? 1),
    finishedAt: kind === 'exited' ? sec(finishedAtS ?? 2) : 0,
    exitCode: kind === 'exited' ? Number(code ?? 0) : 0,
    reason: '',
    message: '',
    image: spec.image ?? '',
    imageRef: 'sha256:abc',
    ...rest,
  };
}

export function observed(containers: ObservedContainer[], sandboxes: ObservedSandbox[] = [sandbox()]): ObservedPod {
  return { sandboxes, containers };
}

export const withPolicy = (p: Pod, restartPolicy: RestartPolicy): Pod => ({ ...p, spec: { ...p.spec, restartPolicy } });
