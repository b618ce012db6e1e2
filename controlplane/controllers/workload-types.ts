/**
 * Shapes of the workload objects the controllers read and write (apps/v1, batch/v1,
 * discovery.k8s.io/v1, core/v1 Service and Endpoints), with the API's field names. Only the fields
 * the controllers use are typed; everything else passes through untouched.
 */
import type { IntOrString, PodSpec } from '../../kube/corev1.ts';
import type { LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject, ObjectMeta } from '../../kube/types.ts';

export interface PodTemplateSpec {
  metadata?: Pick<ObjectMeta, 'labels' | 'annotations' | 'name' | 'generateName'>;
  spec: PodSpec;
}

/** Deployment, ReplicaSet, DaemonSet and StatefulSet conditions, and Job conditions. */
export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaSet extends KubeObject {
  spec: { replicas?: number; minReadySeconds?: number; selector: LabelSelectorObject; template: PodTemplateSpec };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: WorkloadCondition[];
  };
}

interface RollingUpdateDeployment {
  maxSurge?: IntOrString;
  maxUnavailable?: IntOrString;
}

export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelectorObject;
    template: PodTemplateSpec;
    strategy?: { type?: 'RollingUpdate' | 'Recreate'; rollingUpdate?: RollingUpdateDeployment };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: WorkloadCondition[];
    collisionCount?: number;
  };
}

export interface DaemonSet extends KubeObject {
  spec: {
    selector: LabelSelectorObject;
    template: PodTemplateSpec;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    updateStrategy?: {
      type?: 'RollingUpdate' | 'OnDelete';
      rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString };
    };
  };
  status?: {
    desiredNumberScheduled?: number;
    currentNumberScheduled?: number;
    numberMisscheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    numberUnavailable?: number;
    updatedNumberScheduled?: number;
    observedGeneration?: number;
  };
}

export interface StatefulSet extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelectorObject;
    template: PodTemplateSpec;
    serviceName?: string;
    minReadySeconds?: number;
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    revisionHistoryLimit?: number;
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { partition?: number } };
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    observedGeneration?: number;
  };
}

export interface Job extends KubeObject {
  spec: {
    parallelism?: number;
    completions?: number | null;
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    selector?: LabelSelectorObject;
    manualSelector?: boolean;
    suspend?: boolean;
    template: PodTemplateSpec;
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: WorkloadCondition[];
  };
}

/** Its name, namespace and uid are copied from the object's metadata, where each may be absent. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string | undefined;
  namespace?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string;
}

export interface CronJob extends KubeObject {
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { metadata?: Pick<ObjectMeta, 'labels' | 'annotations'>; spec: Job['spec'] };
  };
  status?: { active?: ObjectRef[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}
