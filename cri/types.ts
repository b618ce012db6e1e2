/**
 * TypeScript shapes of the CRI v1 messages, as the client hands them out and accepts them.
 *
 * Conventions (the same for the real client and the fake runtime):
 *  - Field names are protobufjs' camelCase of the proto names (`pod_sandbox_id` -> `podSandboxId`,
 *    `CDI_devices` -> `CDIDevices`).
 *  - 64-bit integers are plain `number`s. Nanosecond timestamps (~1.7e18) then keep about
 *    quarter-microsecond precision, which nothing here needs; sizes and counts stay exact up to
 *    2^53 (8 PiB). Numbers are far easier to compute and print with than bigint or Long.
 *  - Enums are their string names ('CONTAINER_RUNNING'), which print and compare readably;
 *    requests may also use the numbers.
 *  - In responses every scalar, list and map field is present (proto3 defaults filled in); a
 *    nested message is present only when the runtime sent it. In requests everything is optional.
 */

export type Labels = Record<string, string>;

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
type Protocol = 'TCP' | 'UDP' | 'SCTP';
type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type ContainerEventType =
  | 'CONTAINER_CREATED_EVENT'
  | 'CONTAINER_STARTED_EVENT'
  | 'CONTAINER_STOPPED_EVENT'
  | 'CONTAINER_DELETED_EVENT';
type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
type SupplementalGroupsPolicy = 'Merge' | 'Strict';
export type CgroupDriver = 'SYSTEMD' | 'CGROUPFS';

// ---------------------------------------------------------------- version and status

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

interface RuntimeHandler {
  name: string;
  features?: { recursiveReadOnlyMounts: boolean; userNamespaces: boolean };
}

export interface StatusResponse {
  status?: { conditions: RuntimeCondition[] };
  /** Values are JSON text; only filled when asked for verbose output. */
  info: Record<string, string>;
  runtimeHandlers: RuntimeHandler[];
  features?: { supplementalGroupsPolicy: boolean };
}

// ---------------------------------------------------------------- shared

export interface KeyValue {
  key: string;
  value: string;
}

interface ImageSpec {
  image: string;
  annotations?: Labels;
  userSpecifiedImage?: string;
  runtimeHandler?: string;
}

interface Int64Value {
  value: number;
}

interface UInt64Value {
  value: number;
}

interface IDMapping {
  hostId: number;
  containerId: number;
  length: number;
}

export interface Mount {
  containerPath: string;
  hostPath?: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  propagation?: MountPropagation | undefined;
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  recursiveReadOnly?: boolean;
  image?: ImageSpec;
}

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  targetId?: string;
  usernsOptions?: { mode?: NamespaceMode; uids?: IDMapping[]; gids?: IDMapping[] };
}

interface SecurityProfile {
  profileType?: ProfileType;
  localhostRef?: string;
}

interface SELinuxOption {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  hugepageLimits?: { pageSize: string; limit: number }[];
  unified?: Labels;
  memorySwapLimitInBytes?: number;
}

// ---------------------------------------------------------------- pod sandboxes

interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PortMapping {
  protocol?: Protocol;
  containerPort?: number;
  hostPort?: number;
  hostIp?: string;
}

export interface DNSConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption;
  selinuxOptions?: SELinuxOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: SupplementalGroupsPolicy;
  privileged?: boolean;
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

interface LinuxPodSandboxConfig {
  cgroupParent?: string;
  securityContext?: LinuxSandboxSecurityContext;
  sysctls?: Labels;
  overhead?: LinuxContainerResources;
  resources?: LinuxContainerResources;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: DNSConfig;
  portMappings?: PortMapping[];
  labels?: Labels;
  annotations?: Labels;
  linux?: LinuxPodSandboxConfig;
}

export interface PodSandbox {
  id: string;
  metadata?: Required<PodSandboxMetadata>;
  state: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  labels: Labels;
  annotations: Labels;
  runtimeHandler: string;
}

export interface PodSandboxStatus extends PodSandbox {
  network?: { ip: string; additionalIps: { ip: string }[] };
  linux?: { namespaces?: { options?: NamespaceOption } };
}

export interface PodSandboxStatusResponse {
  status?: PodSandboxStatus;
  /** Runtime-specific details as JSON text; only filled for verbose requests. */
  info: Record<string, string>;
  containersStatuses: ContainerStatus[];
  timestamp: number;
}

export interface PodSandboxFilter {
  id?: string;
  state?: { state: PodSandboxState };
  labelSelector?: Labels;
}

// ---------------------------------------------------------------- containers

interface ContainerMetadata {
  name: string;
  attempt?: number;
}

export interface LinuxContainerSecurityContext {
  capabilities?: { addCapabilities?: string[]; dropCapabilities?: string[]; addAmbientCapabilities?: string[] };
  privileged?: boolean;
  namespaceOptions?: NamespaceOption;
  selinuxOptions?: SELinuxOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  runAsUsername?: string;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: SupplementalGroupsPolicy;
  noNewPrivs?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  devices?: { containerPath: string; hostPath: string; permissions: string }[];
  labels?: Labels;
  annotations?: Labels;
  /** Relative to the sandbox's logDirectory. */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: { resources?: LinuxContainerResources; securityContext?: LinuxContainerSecurityContext };
  CDIDevices?: { name: string }[];
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata?: Required<ContainerMetadata>;
  image?: ImageSpec;
  imageRef: string;
  state: ContainerState;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  labels: Labels;
  annotations: Labels;
  imageId: string;
}

export interface ContainerStatus {
  id: string;
  metadata?: Required<ContainerMetadata>;
  state: ContainerState;
  /** Nanoseconds since the epoch; 0 when not yet. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image?: ImageSpec;
  imageRef: string;
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  mounts: Mount[];
  logPath: string;
  resources?: { linux?: LinuxContainerResources };
  imageId: string;
  user?: { linux?: { uid: number; gid: number; supplementalGroups: number[] } };
  imageSource: string;
}

export interface ContainerStatusResponse {
  status?: ContainerStatus;
  /** Runtime-specific details as JSON text (pid, OCI spec, ...); only filled for verbose requests. */
  info: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  state?: { state: ContainerState };
  podSandboxId?: string;
  labelSelector?: Labels;
}

export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface AttachRequest {
  containerId: string;
  stdin?: boolean;
  tty?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface ContainerEvent {
  containerId: string;
  containerEventType: ContainerEventType;
  createdAt: number;
  podSandboxStatus?: PodSandboxStatus;
  containersStatuses: ContainerStatus[];
}

// ---------------------------------------------------------------- stats

export interface CpuUsage {
  timestamp: number;
  usageCoreNanoSeconds?: UInt64Value;
  usageNanoCores?: UInt64Value;
}

interface MemoryUsage {
  timestamp: number;
  workingSetBytes?: UInt64Value;
  availableBytes?: UInt64Value;
  usageBytes?: UInt64Value;
  rssBytes?: UInt64Value;
  pageFaults?: UInt64Value;
  majorPageFaults?: UInt64Value;
}

interface FilesystemUsage {
  timestamp: number;
  fsId?: { mountpoint: string };
  usedBytes?: UInt64Value;
  inodesUsed?: UInt64Value;
}

export interface ContainerStats {
  attributes?: { id: string; metadata?: Required<ContainerMetadata>; labels: Labels; annotations: Labels };
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  writableLayer?: FilesystemUsage;
  swap?: { timestamp: number; swapAvailableBytes?: UInt64Value; swapUsageBytes?: UInt64Value };
}

export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Labels;
}

interface NetworkInterfaceUsage {
  name: string;
  rxBytes?: UInt64Value;
  rxErrors?: UInt64Value;
  txBytes?: UInt64Value;
  txErrors?: UInt64Value;
}

export interface PodSandboxStats {
  attributes?: { id: string; metadata?: Required<PodSandboxMetadata>; labels: Labels; annotations: Labels };
  linux?: {
    cpu?: CpuUsage;
    memory?: MemoryUsage;
    network?: { timestamp: number; defaultInterface?: NetworkInterfaceUsage; interfaces: NetworkInterfaceUsage[] };
    process?: { timestamp: number; processCount?: UInt64Value };
    containers: ContainerStats[];
  };
}

export interface PodSandboxStatsFilter {
  id?: string;
  labelSelector?: Labels;
}

// ---------------------------------------------------------------- images

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid?: Int64Value;
  username: string;
  spec?: ImageSpec;
  pinned: boolean;
  imageSource: string;
}

export interface ImageStatusResponse {
  /** Absent when the runtime does not have the image. */
  image?: Image;
  info: Record<string, string>;
}

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface ImageFsInfoResponse {
  imageFilesystems: FilesystemUsage[];
  containerFilesystems: FilesystemUsage[];
}
