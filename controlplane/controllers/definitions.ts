/**
 * The controllers as ControllerSpecs: which resource each reconciles, which changes wake which
 * keys, and the pure planner it calls. Nothing here talks to the API.
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import type { PersistentVolumeClaim } from '../../kube/storagev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import { objectKey } from './client.ts';
import type { ControllerRevision } from './controller-revisions.ts';
import { planCronJob } from './cronjob.ts';
import { planDaemonSet } from './daemonset.ts';
import { planDeployment } from './deployment.ts';
import { planEndpoints, planEndpointSlices, serviceNameLabel } from './endpointslice.ts';
import { planJob } from './job.ts';
import { ownerKeys, type Caches, type ControllerSpec } from './manager.ts';
import { controllerOf } from './pods.ts';
import { planReplicaSet } from './replicaset.ts';
import { equalitySelector, planReplicationController, type ReplicationController } from './replicationcontroller.ts';
import { planStatefulSet } from './statefulset.ts';
import { claimTemplates } from './statefulset-claims.ts';
import type { Service } from '../../kube/corev1.ts';
import type { EndpointSlice } from '../../kube/discoveryv1.ts';
import type { CronJob, DaemonSet, Deployment, Job, ReplicaSet, StatefulSet } from './workload-types.ts';

type OwnerSelector = (owner: KubeObject) => LabelSelectorObject | undefined;

const specSelector: OwnerSelector = (owner) => (owner as { spec?: { selector?: LabelSelectorObject } }).spec?.selector;

/** Owners of `kind` in the object's namespace whose selector matches an orphan (for adoption). */
function adoptersOf(
  object: KubeObject,
  caches: Caches,
  resource: 'replicasets' | 'replicationcontrollers' | 'deployments' | 'jobs' | 'daemonsets' | 'statefulsets',
  selectorOf: OwnerSelector = specSelector,
): string[] {
  if (controllerOf(object) !== undefined) return [];
  return caches
    .list(resource, object.metadata.namespace)
    .filter((owner) => {
      const requirements = selectorFromObject(selectorOf(owner));
      return requirements.length > 0 && matchesLabels(requirements, object.metadata.labels);
    })
    .map(objectKey);
}

export const replicaSetController: ControllerSpec = {
  name: 'replicaset',
  primary: 'replicasets',
  workers: 2,
  triggers: [
    {
      resource: 'pods',
      keysFor: (pod, caches) => [...ownerKeys(pod, 'ReplicaSet'), ...adoptersOf(pod, caches, 'replicasets')],
    },
  ],
  plan: (rs, caches, now) => planReplicaSet(rs as ReplicaSet, caches.claimable('pods', rs) as Pod[], now),
};

export const replicationControllerController: ControllerSpec = {
  name: 'replicationcontroller',
  primary: 'replicationcontrollers',
  workers: 2,
  triggers: [
    {
      resource: 'pods',
      keysFor: (pod, caches) => [
        ...ownerKeys(pod, 'ReplicationController'),
        ...adoptersOf(pod, caches, 'replicationcontrollers', (rc) =>
          equalitySelector((rc as ReplicationController).spec?.selector),
        ),
      ],
    },
  ],
  plan: (rc, caches, now) =>
    planReplicationController(rc as ReplicationController, caches.claimable('pods', rc) as Pod[], now),
};

/** The Deployment that controls the ReplicaSet that controls this pod, if any. */
function deploymentOfPod(pod: KubeObject, caches: Caches): string[] {
  return ownerKeys(pod, 'ReplicaSet').flatMap((rsKey) => {
    const rs = caches.get('replicasets', rsKey);
    return rs ? ownerKeys(rs, 'Deployment') : [];
  });
}

export const deploymentController: ControllerSpec = {
  name: 'deployment',
  primary: 'deployments',
  workers: 2,
  triggers: [
    {
      resource: 'replicasets',
      keysFor: (rs, caches) => [...ownerKeys(rs, 'Deployment'), ...adoptersOf(rs, caches, 'deployments')],
    },
    // Recreate waits for old pods to be gone: their changes must wake such a Deployment (only such:
    // a RollingUpdate Deployment learns everything it needs from its ReplicaSets' status).
    {
      resource: 'pods',
      keysFor: (pod, caches) =>
        deploymentOfPod(pod, caches).filter(
          (key) => (caches.get('deployments', key) as Deployment | undefined)?.spec.strategy?.type === 'Recreate',
        ),
    },
  ],
  plan: (d, caches, now) =>
    planDeployment({
      deployment: d as Deployment,
      replicaSets: caches.list('replicasets', d.metadata.namespace) as ReplicaSet[],
      pods: caches.list('pods', d.metadata.namespace) as Pod[],
      now,
    }),
};

export const jobController: ControllerSpec = {
  name: 'job',
  primary: 'jobs',
  workers: 2,
  triggers: [
    { resource: 'pods', keysFor: (pod, caches) => [...ownerKeys(pod, 'Job'), ...adoptersOf(pod, caches, 'jobs')] },
  ],
  plan: (job, caches, now) => planJob(job as Job, caches.list('pods', job.metadata.namespace) as Pod[], now),
};

function servicesSelecting(pod: KubeObject, caches: Caches): string[] {
  return caches
    .list('services', pod.metadata.namespace)
    .filter((svc) => {
      const selector = (svc as Service).spec?.selector ?? {};
      const entries = Object.entries(selector);
      return entries.length > 0 && entries.every(([k, v]) => pod.metadata.labels?.[k] === v);
    })
    .map(objectKey);
}

export const endpointsController: ControllerSpec = {
  name: 'endpointslice',
  primary: 'services',
  workers: 2,
  triggers: [
    { resource: 'pods', keysFor: servicesSelecting },
    {
      resource: 'endpointslices',
      keysFor: (slice) => {
        const service = slice.metadata.labels?.[serviceNameLabel];
        return service ? [`${slice.metadata.namespace}/${service}`] : [];
      },
    },
  ],
  reads: ['endpoints'],
  plan: (svc, caches) => {
    const service = svc as Service;
    const pods = caches.list('pods', service.metadata.namespace) as Pod[];
    const slices = planEndpointSlices(
      service,
      pods,
      caches.list('endpointslices', service.metadata.namespace) as EndpointSlice[],
    );
    const legacy = planEndpoints(service, pods, caches.get('endpoints', objectKey(service)));
    return { actions: [...slices.actions, ...legacy.actions] };
  },
};

export const daemonSetController: ControllerSpec = {
  name: 'daemonset',
  primary: 'daemonsets',
  triggers: [
    {
      resource: 'pods',
      keysFor: (pod, caches) => [...ownerKeys(pod, 'DaemonSet'), ...adoptersOf(pod, caches, 'daemonsets')],
    },
    // A node joining, leaving or changing labels and taints may change where daemons belong.
    { resource: 'nodes', keysFor: (_node, caches) => caches.list('daemonsets').map(objectKey) },
  ],
  reads: ['controllerrevisions'],
  plan: (ds, caches, now) =>
    planDaemonSet(
      ds as DaemonSet,
      caches.list('nodes') as Node[],
      caches.list('pods', ds.metadata.namespace) as Pod[],
      now,
      caches.list('controllerrevisions', ds.metadata.namespace) as ControllerRevision[],
    ),
};

export const statefulSetController: ControllerSpec = {
  name: 'statefulset',
  primary: 'statefulsets',
  triggers: [
    {
      resource: 'pods',
      keysFor: (pod, caches) => [...ownerKeys(pod, 'StatefulSet'), ...adoptersOf(pod, caches, 'statefulsets')],
    },
    // A claim that finished going lets its pod be made again (with a fresh claim).
    {
      resource: 'persistentvolumeclaims',
      keysFor: (claim, caches) =>
        caches
          .list('statefulsets', claim.metadata.namespace)
          .filter((set) =>
            claimTemplates(set as StatefulSet).some((t) =>
              (claim.metadata.name ?? '').startsWith(`${t.metadata?.name}-${set.metadata.name}-`),
            ),
          )
          .map(objectKey),
    },
  ],
  reads: ['controllerrevisions'],
  plan: (set, caches, now) =>
    planStatefulSet(
      set as StatefulSet,
      caches.list('pods', set.metadata.namespace) as Pod[],
      now,
      caches.list('controllerrevisions', set.metadata.namespace) as ControllerRevision[],
      caches.list('persistentvolumeclaims', set.metadata.namespace) as unknown as PersistentVolumeClaim[],
    ),
};

export const cronJobController: ControllerSpec = {
  name: 'cronjob',
  primary: 'cronjobs',
  triggers: [{ resource: 'jobs', keysFor: (job) => ownerKeys(job, 'CronJob') }],
  plan: (cronJob, caches, now) =>
    planCronJob(cronJob as CronJob, caches.list('jobs', cronJob.metadata.namespace) as Job[], now),
};
