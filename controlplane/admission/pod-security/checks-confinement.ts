/**
 * Checks on the kernel confinement of a pod's processes: AppArmor, SELinux and seccomp. Baseline
 * forbids switching confinement off; restricted also requires a seccomp profile.
 */
import {
  allContainers,
  containersWhere,
  isWindowsPod,
  joinQuote,
  pluralize,
  setters,
  sortedSet,
  type PodMetaView,
  type PodSpecView,
  type SecurityContextView,
  type Violation,
} from './pod-view.ts';

const appArmorAnnotationPrefix = 'container.apparmor.security.beta.kubernetes.io/';

function allowedAppArmorAnnotation(value: string): boolean {
  return value === '' || value === 'runtime/default' || value.startsWith('localhost/');
}

/** AppArmor may be the runtime's default or a profile loaded on the node, never unconfined. */
export function appArmorProfile(meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const badType = (sc: SecurityContextView | undefined) =>
    sc?.appArmorProfile?.type !== undefined && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type);
  const types = [spec.securityContext, ...allContainers(spec).map((c) => c.securityContext)]
    .filter(badType)
    .map((sc) => sc!.appArmorProfile!.type!);
  const annotations = Object.entries(meta.annotations ?? {})
    .filter(([key, value]) => key.startsWith(appArmorAnnotationPrefix) && !allowedAppArmorAnnotation(value))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const bad = [...sortedSet(types), ...sortedSet(annotations)];
  if (bad.length === 0) return undefined;
  return {
    reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', bad.length),
    detail: bad.join(', '),
  };
}

/** SELinux: only the container types (container_engine_t from v1.31), never a user or role. */
export function seLinuxOptionsAsOf(minor: number) {
  const allowedTypes = new Set([
    '',
    'container_t',
    'container_init_t',
    'container_kvm_t',
    ...(minor >= 31 ? ['container_engine_t'] : []),
  ]);
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    const types: string[] = [];
    let user = false;
    let role = false;
    const bad = (sc: SecurityContextView | undefined) => {
      const options = sc?.seLinuxOptions;
      if (options === undefined) return false;
      let valid = true;
      if (!allowedTypes.has(options.type ?? '')) {
        valid = false;
        types.push(options.type ?? '');
      }
      if ((options.user ?? '') !== '') {
        valid = false;
        user = true;
      }
      if ((options.role ?? '') !== '') {
        valid = false;
        role = true;
      }
      return !valid;
    };
    const pod = bad(spec.securityContext);
    const containers = containersWhere(spec, (c) => bad(c.securityContext));
    if (!pod && containers.length === 0) return undefined;
    const what: string[] = [];
    const listed = sortedSet(types);
    if (listed.length > 0) what.push(`${pluralize('type', 'types', listed.length)} ${joinQuote(listed)}`);
    if (user) what.push('user may not be set');
    if (role) what.push('role may not be set');
    return {
      reason: 'seLinuxOptions',
      detail: `${setters(pod, containers)} set forbidden securityContext.seLinuxOptions: ${what.join('; ')}`,
    };
  };
}

const seccompPodAnnotation = 'seccomp.security.alpha.kubernetes.io/pod';
const seccompContainerAnnotationPrefix = 'container.seccomp.security.alpha.kubernetes.io/';

/** Before v1.19 seccomp was set by annotations: they may name the runtime's default or a node profile. */
export function seccompAnnotations(meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const allowed = (value: string) =>
    value === 'runtime/default' || value === 'docker/default' || value.startsWith('localhost/');
  const keys = [
    seccompPodAnnotation,
    ...allContainers(spec).map((c) => `${seccompContainerAnnotationPrefix}${c.name ?? ''}`),
  ];
  const forbidden = sortedSet(
    keys
      .filter((key) => meta.annotations?.[key] !== undefined && !allowed(meta.annotations[key]!))
      .map((key) => `${key}=${JSON.stringify(meta.annotations![key])}`),
  );
  if (forbidden.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `forbidden ${pluralize('annotation', 'annotations', forbidden.length)} ${forbidden.join(', ')}`,
  };
}

const validSeccomp = (type: string | undefined) => type === 'RuntimeDefault' || type === 'Localhost';

/** Who explicitly set a seccomp type other than RuntimeDefault or Localhost, and which types. */
function explicitSeccompProblem(spec: PodSpecView): Violation | undefined {
  const values: string[] = [];
  const badSet = (sc: SecurityContextView | undefined) => {
    if (sc?.seccompProfile === undefined || validSeccomp(sc.seccompProfile.type)) return false;
    values.push(sc.seccompProfile.type ?? '');
    return true;
  };
  const pod = badSet(spec.securityContext);
  const containers = containersWhere(spec, (c) => badSet(c.securityContext));
  if (!pod && containers.length === 0) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `${setters(pod, containers)} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
  };
}

/** Baseline (v1.19+): seccomp may be left unset, but not set to Unconfined. */
export function seccompBaseline(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  return explicitSeccompProblem(spec);
}

/** Restricted: every container runs under RuntimeDefault or Localhost, set on the pod or on it (not for Windows pods from v1.25). */
export function seccompRestricted(exemptWindows: boolean) {
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    if (exemptWindows && isWindowsPod(spec)) return undefined;
    const explicit = explicitSeccompProblem(spec);
    if (explicit !== undefined) return explicit;
    if (validSeccomp(spec.securityContext?.seccompProfile?.type)) return undefined;
    const unset = containersWhere(spec, (c) => c.securityContext?.seccompProfile === undefined);
    if (unset.length === 0) return undefined;
    return {
      reason: 'seccompProfile',
      detail: `pod or ${setters(false, unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  };
}
