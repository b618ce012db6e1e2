/**
 * Checks on what a container may do beyond an ordinary process: privileged mode, capabilities,
 * privilege escalation (setuid binaries, no_new_privs) and an unmasked /proc.
 */
import {
  containerList,
  containersWhere,
  inUserNamespace,
  isWindowsPod,
  joinQuote,
  sortedSet,
  type PodMetaView,
  type PodSpecView,
  type Violation,
} from './pod-view.ts';

export function privileged(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const containers = containersWhere(spec, (c) => c.securityContext?.privileged === true);
  if (containers.length === 0) return undefined;
  return { reason: 'privileged', detail: `${containerList(containers)} must not set securityContext.privileged=true` };
}

/** The capabilities a container runtime grants by default: adding them changes nothing (baseline). */
const defaultCapabilities = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** Containers adding capabilities outside `allowed`, and those capabilities. */
function addedBeyond(
  spec: PodSpecView,
  allowed: (capability: string) => boolean,
): { containers: string[]; capabilities: string[] } {
  const capabilities: string[] = [];
  const containers = containersWhere(spec, (c) => {
    const extra = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !allowed(cap));
    capabilities.push(...extra);
    return extra.length > 0;
  });
  return { containers, capabilities: sortedSet(capabilities) };
}

function mustNotAdd(added: { containers: string[]; capabilities: string[] }): string {
  return `${containerList(added.containers)} must not include ${joinQuote(added.capabilities)} in securityContext.capabilities.add`;
}

export function capabilitiesBaseline(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const added = addedBeyond(spec, (cap) => defaultCapabilities.has(cap));
  return added.containers.length === 0 ? undefined : { reason: 'non-default capabilities', detail: mustNotAdd(added) };
}

/** Restricted: every container drops ALL and adds back at most NET_BIND_SERVICE (not for Windows pods from v1.25). */
export function capabilitiesRestricted(exemptWindows: boolean) {
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    if (exemptWindows && isWindowsPod(spec)) return undefined;
    const missingDropAll = containersWhere(spec, (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'));
    const added = addedBeyond(spec, (cap) => cap === 'NET_BIND_SERVICE');
    const details: string[] = [];
    if (missingDropAll.length > 0)
      details.push(`${containerList(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
    if (added.containers.length > 0) details.push(mustNotAdd(added));
    return details.length === 0 ? undefined : { reason: 'unrestricted capabilities', detail: details.join('; ') };
  };
}

/** Restricted: every container sets allowPrivilegeEscalation=false (not for Windows pods from v1.25). */
export function allowPrivilegeEscalation(exemptWindows: boolean) {
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    if (exemptWindows && isWindowsPod(spec)) return undefined;
    const containers = containersWhere(spec, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
    if (containers.length === 0) return undefined;
    return {
      reason: 'allowPrivilegeEscalation != false',
      detail: `${containerList(containers)} must set securityContext.allowPrivilegeEscalation=false`,
    };
  };
}

/** Baseline: /proc stays masked (procMount Default), unless, from v1.34, the pod has its own user namespace. */
export function procMount(relaxInUserNamespace: boolean) {
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    if (relaxInUserNamespace && inUserNamespace(spec)) return undefined;
    const types: string[] = [];
    const containers = containersWhere(spec, (c) => {
      const type = c.securityContext?.procMount;
      if (type === undefined || type === 'Default') return false;
      types.push(type);
      return true;
    });
    if (containers.length === 0) return undefined;
    return {
      reason: 'procMount',
      detail: `${containerList(containers)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
    };
  };
}
