/**
 * The CRI container config of one container attempt: image, command and args (with $(VAR)
 * expansion), environment, mounts, log path, labels and annotations, Linux resources from
 * requests/limits, and the security context. Pure: env and mounts are resolved by the caller.
 */
import type {
  ContainerConfig,
  KeyValue,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  Mount,
  NamespaceOption,
} from '../../cri/types.ts';
import type { Container, Pod, PodQOSClass } from '../../kube/corev1.ts';
import { containerAnnotations, containerLabels } from './cri-labels.ts';
import { terminationGraceSecondsOf, terminationMessagePolicyOf } from './defaults.ts';
import { expandReferences } from './env.ts';
import type { PodContainer } from './pod-containers.ts';
import { wholeUnits as bytesOf, milliCpu } from '../../kube/quantity.ts';
import { qosClassOf } from './qos.ts';
import { containerSpecHash } from './spec-hash.ts';
import { configError } from './start-errors.ts';
import { sandboxSecurityContext } from './sandbox-config.ts';

const cpuPeriodUs = 100_000;
const minShares = 2;
const minQuotaUs = 1_000;

/** Paths of /proc and /sys hidden from, or read-only in, unprivileged containers. */
const defaultMaskedPaths = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const defaultReadonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** OOM score by QoS: guaranteed pods die last, best-effort first, burstable by memory request. */
export function oomScoreAdj(qos: PodQOSClass, memoryRequestBytes: number, memoryCapacityBytes: number): number {
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const score = 1000 - Math.floor((1000 * memoryRequestBytes) / Math.max(1, memoryCapacityBytes));
  return Math.min(999, Math.max(3, score));
}

export function linuxResources(
  container: Container,
  qos: PodQOSClass,
  memoryCapacityBytes: number,
): LinuxContainerResources {
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  const cpuRequest = requests.cpu ?? limits.cpu;
  const resources: LinuxContainerResources = {
    cpuShares:
      cpuRequest !== undefined ? Math.max(minShares, Math.floor((milliCpu(cpuRequest) * 1024) / 1000)) : minShares,
    oomScoreAdj: oomScoreAdj(qos, bytesOf(requests.memory ?? limits.memory ?? 0), memoryCapacityBytes),
  };
  if (limits.cpu !== undefined) {
    resources.cpuPeriod = cpuPeriodUs;
    resources.cpuQuota = Math.max(minQuotaUs, Math.floor((milliCpu(limits.cpu) * cpuPeriodUs) / 1000));
  }
  if (limits.memory !== undefined) resources.memoryLimitInBytes = bytesOf(limits.memory);
  return resources;
}

function capability(name: string): string {
  const upper = name.toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** What the image runs as, from ImageStatus: a uid, or a user name. */
export interface ImageUser {
  uid?: number;
  username: string;
}

export function containerSecurityContext(
  pod: Pod,
  container: Container,
  imageUser: ImageUser | undefined,
): LinuxContainerSecurityContext {
  const podSc = pod.spec.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? podSc.runAsGroup;
  if (sc.runAsNonRoot ?? podSc.runAsNonRoot) {
    if (runAsUser === 0) throw configError(`container ${container.name} has runAsNonRoot and runAsUser 0`);
    if (runAsUser === undefined) {
      const numeric =
        imageUser?.uid ?? (/^\d+$/.test(imageUser?.username ?? '') ? Number(imageUser?.username) : undefined);
      if (numeric === undefined && (imageUser?.username ?? '') !== '') {
        throw configError(
          `container ${container.name} has runAsNonRoot and its image user "${imageUser!.username}" is not numeric: cannot verify it is not root`,
        );
      }
      if ((numeric ?? 0) === 0)
        throw configError(`container ${container.name} has runAsNonRoot and its image will run as root`);
    }
  }
  const privileged = sc.privileged === true;
  const sandbox = sandboxSecurityContext(pod);
  const context: LinuxContainerSecurityContext = {
    privileged,
    readonlyRootfs: sc.readOnlyRootFilesystem === true,
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    namespaceOptions: sandbox.namespaceOptions!,
    ...(sandbox.supplementalGroups ? { supplementalGroups: sandbox.supplementalGroups } : {}),
  };
  if (runAsUser !== undefined) context.runAsUser = { value: runAsUser };
  if (runAsGroup !== undefined) context.runAsGroup = { value: runAsGroup };
  if (sc.capabilities !== undefined) {
    context.capabilities = {
      addCapabilities: (sc.capabilities.add ?? []).map(capability),
      dropCapabilities: (sc.capabilities.drop ?? []).map(capability),
    };
  }
  if (!privileged && sc.procMount !== 'Unmasked') {
    context.maskedPaths = defaultMaskedPaths;
    context.readonlyPaths = defaultReadonlyPaths;
  }
  const seccomp = sc.seccompProfile ?? pod.spec.securityContext?.seccompProfile;
  if (seccomp !== undefined) {
    context.seccomp = {
      profileType: seccomp.type,
      ...(seccomp.localhostProfile ? { localhostRef: seccomp.localhostProfile } : {}),
    };
  }
  return context;
}

interface ContainerConfigInputs {
  /** The image ID the runtime resolved. */
  imageRef: string;
  env: KeyValue[];
  mounts: Mount[];
  terminationMessageFile: string;
  imageUser: ImageUser | undefined;
  memoryCapacityBytes: number;
  /** The runtime ID of the running container whose process namespace this one joins (an ephemeral container's target). */
  pidTargetId?: string;
}

/**
 * The namespaces of a container: the sandbox's, except that an ephemeral container with a target
 * joins the target's process namespace where each container has its own (the kubelet does the
 * same; with a shared or host process namespace it already sees the target's processes).
 */
export function withPidTarget(options: NamespaceOption, targetId: string | undefined): NamespaceOption {
  if (targetId === undefined || options.pid !== 'CONTAINER') return options;
  return { ...options, pid: 'TARGET', targetId };
}

export function buildContainerConfig(
  pod: Pod,
  c: PodContainer,
  attempt: number,
  inputs: ContainerConfigInputs,
): ContainerConfig {
  const spec = c.spec;
  const vars = new Map(inputs.env.map((kv) => [kv.key, kv.value]));
  const qos = qosClassOf(pod.spec);
  const config: ContainerConfig = {
    metadata: { name: spec.name, attempt },
    image: { image: inputs.imageRef, userSpecifiedImage: spec.image ?? '' },
    envs: inputs.env,
    mounts: inputs.mounts,
    logPath: `${spec.name}/${attempt}.log`,
    labels: containerLabels(pod, spec.name),
    annotations: containerAnnotations({
      specHash: containerSpecHash(spec),
      restartCount: attempt,
      role: c.role,
      terminationMessageFile: inputs.terminationMessageFile,
      terminationMessagePolicy: terminationMessagePolicyOf(spec),
      terminationGraceSeconds: terminationGraceSecondsOf(pod),
    }),
    stdin: spec.stdin === true,
    stdinOnce: spec.stdinOnce === true,
    tty: spec.tty === true,
    linux: {
      resources: linuxResources(spec, qos, inputs.memoryCapacityBytes),
      securityContext: containerSecurityContext(pod, spec, inputs.imageUser),
    },
  };
  const security = config.linux!.securityContext!;
  security.namespaceOptions = withPidTarget(security.namespaceOptions!, inputs.pidTargetId);
  if (spec.command !== undefined) config.command = spec.command.map((part) => expandReferences(part, vars));
  if (spec.args !== undefined) config.args = spec.args.map((part) => expandReferences(part, vars));
  if (spec.workingDir !== undefined) config.workingDir = spec.workingDir;
  return config;
}
