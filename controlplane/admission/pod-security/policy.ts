/**
 * The Pod Security Standards as a table: each check, the level that starts applying it, and its
 * behaviour by the minor version of the standard that introduced or changed it. Evaluating a pod
 * against a level and version runs the checks that apply, in upstream's order, and returns what
 * they found; the messages join them as upstream does.
 */
import {
  capabilitiesBaseline,
  capabilitiesRestricted,
  allowPrivilegeEscalation,
  privileged,
  procMount,
} from './checks-privilege.ts';
import {
  appArmorProfile,
  seccompAnnotations,
  seccompBaseline,
  seccompRestricted,
  seLinuxOptionsAsOf,
} from './checks-confinement.ts';
import { hostNamespaces, hostPorts, hostProcess, sysctlsAsOf } from './checks-host.ts';
import { runAsNonRoot, runAsUser } from './checks-identity.ts';
import { hostPathVolumes, restrictedVolumes } from './checks-volumes.ts';
import type { LevelVersion } from './level.ts';
import type { PodMetaView, PodSpecView, Violation } from './pod-view.ts';

type CheckPod = (meta: PodMetaView, spec: PodSpecView) => Violation | undefined;

interface Check {
  readonly id: string;
  readonly level: 'baseline' | 'restricted';
  /**
   * A baseline check that a restricted check replaces (capabilities, seccomp): it runs for
   * baseline only, after the other baseline checks.
   */
  readonly replacedInRestricted?: boolean;
  /** Behaviours by the minor version they start at, oldest first. */
  readonly versions: readonly { readonly since: number; readonly check: CheckPod }[];
}

/** Upstream's checks, in the order upstream reports them. */
const checks: readonly Check[] = [
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { since: 8, check: allowPrivilegeEscalation(false) },
      { since: 25, check: allowPrivilegeEscalation(true) },
    ],
  },
  { id: 'appArmorProfile', level: 'baseline', versions: [{ since: 0, check: appArmorProfile }] },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    replacedInRestricted: true,
    versions: [{ since: 0, check: capabilitiesBaseline }],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { since: 22, check: capabilitiesRestricted(false) },
      { since: 25, check: capabilitiesRestricted(true) },
    ],
  },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ since: 0, check: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ since: 0, check: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ since: 0, check: hostPorts }] },
  { id: 'privileged', level: 'baseline', versions: [{ since: 0, check: privileged }] },
  {
    id: 'procMount',
    level: 'baseline',
    versions: [
      { since: 0, check: procMount(false) },
      { since: 34, check: procMount(true) },
    ],
  },
  { id: 'restrictedVolumes', level: 'restricted', versions: [{ since: 0, check: restrictedVolumes }] },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    versions: [
      { since: 0, check: runAsNonRoot(false) },
      { since: 34, check: runAsNonRoot(true) },
    ],
  },
  { id: 'runAsUser', level: 'restricted', versions: [{ since: 23, check: runAsUser }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { since: 0, check: seLinuxOptionsAsOf(0) },
      { since: 31, check: seLinuxOptionsAsOf(31) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    replacedInRestricted: true,
    versions: [
      { since: 0, check: seccompAnnotations },
      { since: 19, check: seccompBaseline },
    ],
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { since: 19, check: seccompRestricted(false) },
      { since: 25, check: seccompRestricted(true) },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { since: 0, check: sysctlsAsOf(0) },
      { since: 27, check: sysctlsAsOf(27) },
      { since: 29, check: sysctlsAsOf(29) },
      { since: 32, check: sysctlsAsOf(32) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ since: 0, check: hostProcess }] },
];

/** The behaviour of `check` at a minor version, or undefined before the check existed. */
function behaviourAt(check: Check, minor: number): CheckPod | undefined {
  return check.versions.filter((v) => v.since <= minor).at(-1)?.check;
}

/** The checks that apply to a level, in reporting order: baseline's, then (baseline) the replaceable ones or (restricted) restricted's. */
function checksFor(level: LevelVersion['level']): Check[] {
  if (level === 'privileged') return [];
  const plainBaseline = checks.filter((c) => c.level === 'baseline' && !c.replacedInRestricted);
  const rest =
    level === 'baseline'
      ? checks.filter((c) => c.replacedInRestricted)
      : checks.filter((c) => c.level === 'restricted');
  return [...plainBaseline, ...rest];
}

/** What a pod (or a pod template) violates at a level and version; empty when it is allowed. */
export function evaluatePod(lv: LevelVersion, meta: PodMetaView, spec: PodSpecView): Violation[] {
  const minor = lv.version === 'latest' ? Number.MAX_SAFE_INTEGER : lv.version.minor;
  const found: Violation[] = [];
  for (const check of checksFor(lv.level)) {
    const violation = behaviourAt(check, minor)?.(meta, spec ?? {});
    if (violation !== undefined) found.push(violation);
  }
  return found;
}

/** `host namespaces, hostPath volumes`: the reasons alone (used per pod when a namespace's level changes). */
export function violationReasons(violations: readonly Violation[]): string {
  return violations.map((v) => v.reason).join(', ');
}

/** `host namespaces (hostNetwork=true), hostPath volumes (volume "h")`. */
export function violationDetails(violations: readonly Violation[]): string {
  return violations.map((v) => (v.detail === '' ? v.reason : `${v.reason} (${v.detail})`)).join(', ');
}
