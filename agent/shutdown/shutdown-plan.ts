/**
 * Graceful node shutdown, as upstream's kubelet does it (--shutdown-grace-period,
 * --shutdown-grace-period-critical-pods): when the machine is about to shut down, regular pods are
 * stopped first within (grace − critical grace), then critical pods (priority class
 * system-cluster-critical or system-node-critical) within the critical grace. Each pod gets the
 * smaller of its own termination grace and its phase's budget, and is reported Failed with
 * reason Terminated. Pure: pods and settings in, the ordered phases out.
 */
import { compareText } from '../../kube/text-order.ts';
const shutdownReason = 'Terminated';
export const shutdownMessage = 'Pod was terminated in response to imminent node shutdown.';
const criticalClasses = new Set(['system-cluster-critical', 'system-node-critical']);
const defaultTerminationGraceSeconds = 30;

export interface ShutdownSettings {
  /** Total time the node waits for pods (0: graceful shutdown off, the upstream default). */
  gracePeriodSeconds: number;
  /** The part of it kept for critical pods. */
  criticalGracePeriodSeconds: number;
}

export interface ShutdownPod {
  uid: string;
  namespace: string;
  name: string;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
  /** Pods already Succeeded/Failed are left alone. */
  phase?: string;
}

export interface ShutdownKill {
  uid: string;
  namespace: string;
  name: string;
  gracePeriodSeconds: number;
  status: { phase: 'Failed'; reason: typeof shutdownReason; message: typeof shutdownMessage };
}

interface ShutdownPhase {
  critical: boolean;
  budgetSeconds: number;
  kills: ShutdownKill[];
}

/** A one-line reason when the settings make no sense, else undefined. */
export function invalidShutdownSettings(s: ShutdownSettings): string | undefined {
  if (!Number.isInteger(s.gracePeriodSeconds) || s.gracePeriodSeconds < 0)
    return '--shutdown-grace-period must be a whole number of seconds, 0 or more';
  if (!Number.isInteger(s.criticalGracePeriodSeconds) || s.criticalGracePeriodSeconds < 0)
    return '--shutdown-grace-period-critical-pods must be a whole number of seconds, 0 or more';
  if (s.criticalGracePeriodSeconds > s.gracePeriodSeconds)
    return '--shutdown-grace-period-critical-pods cannot be longer than --shutdown-grace-period (it is a part of it)';
  return undefined;
}

function isCriticalPod(pod: ShutdownPod): boolean {
  return pod.priorityClassName !== undefined && criticalClasses.has(pod.priorityClassName);
}

export function planShutdown(pods: readonly ShutdownPod[], s: ShutdownSettings): ShutdownPhase[] {
  if (s.gracePeriodSeconds === 0) return [];
  const live = pods.filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
  const phase = (critical: boolean, budgetSeconds: number): ShutdownPhase => ({
    critical,
    budgetSeconds,
    kills: live
      .filter((p) => isCriticalPod(p) === critical)
      .sort((a, b) => compareText(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`))
      .map((p) => ({
        uid: p.uid,
        namespace: p.namespace,
        name: p.name,
        gracePeriodSeconds: Math.min(p.terminationGracePeriodSeconds ?? defaultTerminationGraceSeconds, budgetSeconds),
        status: { phase: 'Failed', reason: shutdownReason, message: shutdownMessage },
      })),
  });
  return [phase(false, s.gracePeriodSeconds - s.criticalGracePeriodSeconds), phase(true, s.criticalGracePeriodSeconds)];
}
