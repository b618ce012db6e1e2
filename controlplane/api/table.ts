/**
 * Table output (meta.k8s.io/v1 Table): the columns kubectl prints for each resource. Columns with
 * priority 1 appear only with `-o wide`. Resources without their own columns get NAME + CREATED AT,
 * as upstream's default.
 */
import { eventsV1ToCore } from './event-conversion.ts';
import type { KubeObject } from '../../kube/types.ts';
import { humanDuration } from './age.ts';
import type { ResourceInfo } from './resources.ts';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  description: string;
  cell(object: KubeObject, now: number): string | number;
}

type Any = Record<string, any>; // eslint-style escape hatch: table cells read deep optional fields
const spec = (o: KubeObject): Any => (o.spec ?? {}) as Any;
const status = (o: KubeObject): Any => (o.status ?? {}) as Any;

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name of the object', cell: (o) => o.metadata.name ?? '' };
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'Time since the object was created',
  cell: (o, now) => (o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'),
};
const createdAt: Column = { name: 'Created At', type: 'date', description: 'Creation timestamp', cell: (o) => o.metadata.creationTimestamp ?? '' };

function podStatus(pod: KubeObject): string {
  const st = status(pod);
  let reason: string = st.reason ?? st.phase ?? 'Pending';
  const initStatuses: Any[] = st.initContainerStatuses ?? [];
  for (const [i, c] of initStatuses.entries()) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.terminated) reason = c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${(spec(pod).initContainers ?? []).length}`;
    break;
  }
  if (!reason.startsWith('Init:')) {
    for (const c of (st.containerStatuses ?? []) as Any[]) {
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    }
  }
  if (pod.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function servicePorts(svc: KubeObject): string {
  const ports: Any[] = spec(svc).ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function selectorText(selector: Any | undefined): string {
  if (!selector) return '<none>';
  const labels = (selector.matchLabels ?? selector) as Record<string, string>;
  const parts = Object.entries(labels).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : '<none>';
}

const columns: Record<string, Column[]> = {
  pods: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'Ready containers of all containers',
      cell: (o) => `${((status(o).containerStatuses ?? []) as Any[]).filter((c) => c.ready).length}/${(spec(o).containers ?? []).length}`,
    },
    { name: 'Status', type: 'string', description: 'Why the pod is in its current state', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      description: 'Container restarts',
      cell: (o) => String(((status(o).containerStatuses ?? []) as Any[]).reduce((n, c) => n + (c.restartCount ?? 0), 0)),
    },
    age,
    { name: 'IP', type: 'string', priority: 1, description: 'Pod IP', cell: (o) => status(o).podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, description: 'Node the pod runs on', cell: (o) => spec(o).nodeName ?? '<none>' },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'Nominated node', cell: (o) => status(o).nominatedNodeName ?? '<none>' },
    {
      name: 'Readiness Gates',
      type: 'string',
      priority: 1,
      description: 'Readiness gates',
      cell: (o) => {
        const gates: Any[] = spec(o).readinessGates ?? [];
        if (gates.length === 0) return '<none>';
        const conditions: Any[] = status(o).conditions ?? [];
        const ready = gates.filter((g) => conditions.some((c) => c.type === g.conditionType && c.status === 'True')).length;
        return `${ready}/${gates.length}`;
      },
    },
  ],
  namespaces: [name, { name: 'Status', type: 'string', description: 'Phase', cell: (o) => status(o).phase ?? 'Active' }, age],
  nodes: [
    name,
    {
      name: 'Status',
      type: 'string',
      description: 'Readiness',
      cell: (o) => {
        const ready = ((status(o).conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
        let text = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
        if (spec(o).unschedulable) text += ',SchedulingDisabled';
        return text;
      },
    },
    {
      name: 'Roles',
      type: 'string',
      description: 'Roles from node-role.kubernetes.io labels',
      cell: (o) => {
        const roles = Object.keys(o.metadata.labels ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice('node-role.kubernetes.io/'.length));
        return roles.length ? roles.sort().join(',') : '<none>';
      },
    },
    age,
    { name: 'Version', type: 'string', description: 'Kubelet version', cell: (o) => status(o).nodeInfo?.kubeletVersion ?? '' },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      description: 'Internal address',
      cell: (o) => ((status(o).addresses ?? []) as Any[]).find((a) => a.type === 'InternalIP')?.address ?? '<none>',
    },
    {
      name: 'External-IP',
      type: 'string',
      priority: 1,
      description: 'External address',
      cell: (o) => ((status(o).addresses ?? []) as Any[]).find((a) => a.type === 'ExternalIP')?.address ?? '<none>',
    },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS image', cell: (o) => status(o).nodeInfo?.osImage ?? '<unknown>' },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel', cell: (o) => status(o).nodeInfo?.kernelVersion ?? '<unknown>' },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      description: 'Container runtime',
      cell: (o) => status(o).nodeInfo?.containerRuntimeVersion ?? '<unknown>',
    },
  ],
  services: [
    name,
    { name: 'Type', type: 'string', description: 'Service type', cell: (o) => spec(o).type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', description: 'Cluster IP', cell: (o) => spec(o).clusterIP ?? '<none>' },
    {
      name: 'External-IP',
      type: 'string',
      description: 'External addresses',
      cell: (o) => {
        const ips: string[] = [...(spec(o).externalIPs ?? []), ...((status(o).loadBalancer?.ingress ?? []) as Any[]).map((i) => i.ip ?? i.hostname)];
        if (ips.length) return ips.join(',');
        return spec(o).type === 'LoadBalancer' ? '<pending>' : spec(o).type === 'ExternalName' ? (spec(o).externalName ?? '<none>') : '<none>';
      },
    },
    { name: 'Port(s)', type: 'string', description: 'Ports', cell: servicePorts },
    age,
    { name: 'Selector', type: 'string', priority: 1, description: 'Pod selector', cell: (o) => selectorText(spec(o).selector) },
  ],
  configmaps: [name, { name: 'Data', type: 'integer', description: 'Number of keys', cell: (o) => Object.keys((o.data as Any) ?? {}).length + Object.keys((o.binaryData as Any) ?? {}).length }, age],
  secrets: [
    name,
    { name: 'Type', type: 'string', description: 'Secret type', cell: (o) => (o.type as string) ?? 'Opaque' },
    { name: 'Data', type: 'integer', description: 'Number of keys', cell: (o) => Object.keys((o.data as Any) ?? {}).length },
    age,
  ],
  serviceaccounts: [name, { name: 'Secrets', type: 'integer', description: 'Secrets', cell: (o) => ((o.secrets as unknown[]) ?? []).length }, age],
  endpoints: [
    name,
    {
      name: 'Endpoints',
      type: 'string',
      description: 'Endpoints',
      cell: (o) => {
        const list: string[] = [];
        for (const subset of ((o.subsets as Any[]) ?? [])) {
          for (const a of (subset.addresses ?? []) as Any[]) for (const p of (subset.ports ?? [{}]) as Any[]) list.push(p.port ? `${a.ip}:${p.port}` : a.ip);
        }
        if (list.length === 0) return '<none>';
        return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
      },
    },
    age,
  ],
  deployments: [
    name,
    { name: 'Ready', type: 'string', description: 'Ready replicas', cell: (o) => `${status(o).readyReplicas ?? 0}/${spec(o).replicas ?? 1}` },
    { name: 'Up-to-date', type: 'integer', description: 'Updated replicas', cell: (o) => status(o).updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', description: 'Available replicas', cell: (o) => status(o).availableReplicas ?? 0 },
    age,
    { name: 'Containers', type: 'string', priority: 1, description: 'Containers', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(',') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(',') },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector', cell: (o) => selectorText(spec(o).selector) },
  ],
  replicasets: [
    name,
    { name: 'Desired', type: 'integer', description: 'Desired replicas', cell: (o) => spec(o).replicas ?? 1 },
    { name: 'Current', type: 'integer', description: 'Current replicas', cell: (o) => status(o).replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Ready replicas', cell: (o) => status(o).readyReplicas ?? 0 },
    age,
  ],
  replicationcontrollers: [
    name,
    { name: 'Desired', type: 'integer', description: 'Desired replicas', cell: (o) => spec(o).replicas ?? 1 },
    { name: 'Current', type: 'integer', description: 'Current replicas', cell: (o) => status(o).replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Ready replicas', cell: (o) => status(o).readyReplicas ?? 0 },
    age,
    { name: 'Containers', type: 'string', priority: 1, description: 'Containers', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(',') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(',') },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector', cell: (o) => selectorText(spec(o).selector) },
  ],
  leases: [name, { name: 'Holder', type: 'string', description: 'Holder identity', cell: (o) => spec(o).holderIdentity ?? '' }, age],
  daemonsets: [
    name,
    { name: 'Desired', type: 'integer', description: 'Nodes that should run the pod', cell: (o) => status(o).desiredNumberScheduled ?? 0 },
    { name: 'Current', type: 'integer', description: 'Nodes running the pod', cell: (o) => status(o).currentNumberScheduled ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Nodes with the pod ready', cell: (o) => status(o).numberReady ?? 0 },
    { name: 'Up-to-date', type: 'integer', description: 'Nodes with the current template', cell: (o) => status(o).updatedNumberScheduled ?? 0 },
    { name: 'Available', type: 'integer', description: 'Nodes with the pod available', cell: (o) => status(o).numberAvailable ?? 0 },
    {
      name: 'Node Selector',
      type: 'string',
      description: 'Node selector of the pods',
      cell: (o) => {
        const sel = (spec(o).template?.spec?.nodeSelector ?? {}) as Record<string, string>;
        const parts = Object.entries(sel).map(([k, v]) => `${k}=${v}`);
        return parts.length ? parts.join(',') : '<none>';
      },
    },
    age,
    { name: 'Containers', type: 'string', priority: 1, description: 'Containers', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(',') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(',') },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector', cell: (o) => selectorText(spec(o).selector) },
  ],
  statefulsets: [
    name,
    { name: 'Ready', type: 'string', description: 'Ready replicas', cell: (o) => `${status(o).readyReplicas ?? 0}/${spec(o).replicas ?? 1}` },
    age,
    { name: 'Containers', type: 'string', priority: 1, description: 'Containers', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(',') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images', cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(',') },
  ],
  controllerrevisions: [
    name,
    {
      name: 'Controller',
      type: 'string',
      description: 'Owning controller',
      cell: (o) => {
        const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller);
        return owner ? `${owner.kind.toLowerCase()}.${owner.apiVersion.split('/')[0]}/${owner.name}` : '<none>';
      },
    },
    { name: 'Revision', type: 'integer', description: 'Revision', cell: (o) => Number(o.revision ?? 0) },
    age,
  ],
  jobs: [
    name,
    {
      name: 'Status',
      type: 'string',
      description: 'Job state',
      cell: (o) => {
        const conditions = (status(o).conditions ?? []) as Any[];
        const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
        if (has('Complete')) return 'Complete';
        if (has('Failed')) return 'Failed';
        if (has('Suspended')) return 'Suspended';
        return 'Running';
      },
    },
    { name: 'Completions', type: 'string', description: 'Succeeded of wanted', cell: (o) => `${status(o).succeeded ?? 0}/${spec(o).completions ?? 1}` },
    {
      name: 'Duration',
      type: 'string',
      description: 'Run time',
      cell: (o, now) => {
        const start = status(o).startTime ? Date.parse(status(o).startTime) : undefined;
        if (start === undefined) return '';
        const end = status(o).completionTime ? Date.parse(status(o).completionTime) : now;
        return humanDuration(end - start);
      },
    },
    age,
  ],
  cronjobs: [
    name,
    { name: 'Schedule', type: 'string', description: 'Cron schedule', cell: (o) => spec(o).schedule ?? '' },
    { name: 'Timezone', type: 'string', description: 'Time zone', cell: (o) => spec(o).timeZone ?? '<none>' },
    { name: 'Suspend', type: 'string', description: 'Suspended', cell: (o) => (spec(o).suspend ? 'True' : 'False') },
    { name: 'Active', type: 'integer', description: 'Running jobs', cell: (o) => ((status(o).active ?? []) as unknown[]).length },
    {
      name: 'Last Schedule',
      type: 'string',
      description: 'Since the last run was scheduled',
      cell: (o, now) => (status(o).lastScheduleTime ? humanDuration(now - Date.parse(status(o).lastScheduleTime)) : '<none>'),
    },
    age,
  ],
  endpointslices: [
    name,
    { name: 'AddressType', type: 'string', description: 'Address family', cell: (o) => (o.addressType as string) ?? '' },
    {
      name: 'Ports',
      type: 'string',
      description: 'Ports',
      cell: (o) => {
        const ports = ((o.ports as Any[]) ?? []).map((p) => String(p.port ?? ''));
        return ports.length ? ports.join(',') : '<unset>';
      },
    },
    {
      name: 'Endpoints',
      type: 'string',
      description: 'Addresses',
      cell: (o) => {
        const list = ((o.endpoints as Any[]) ?? []).flatMap((e) => (e.addresses ?? []) as string[]);
        if (list.length === 0) return '<unset>';
        return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
      },
    },
    age,
  ],
  events: [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Since the event last happened',
      cell: (o, now) => {
        const when = (o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp) as string | undefined;
        return when ? humanDuration(now - Date.parse(when)) : '<unknown>';
      },
    },
    { name: 'Type', type: 'string', description: 'Normal or Warning', cell: (o) => (o.type as string) ?? '' },
    { name: 'Reason', type: 'string', description: 'Reason', cell: (o) => (o.reason as string) ?? '' },
    {
      name: 'Object',
      type: 'string',
      description: 'What the event is about',
      cell: (o) => {
        const io = (o.involvedObject ?? {}) as Any;
        return `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`;
      },
    },
    { name: 'Message', type: 'string', description: 'Message', cell: (o) => String(o.message ?? '').trim() },
  ],
  rolebindings: [name, { name: 'Role', type: 'string', description: 'Bound role', cell: (o) => `${(o.roleRef as Any)?.kind ?? ''}/${(o.roleRef as Any)?.name ?? ''}` }, age],
  clusterrolebindings: [name, { name: 'Role', type: 'string', description: 'Bound role', cell: (o) => `${(o.roleRef as Any)?.kind ?? ''}/${(o.roleRef as Any)?.name ?? ''}` }, age],
  resourcequotas: [
    name,
    age,
    {
      name: 'Request',
      type: 'string',
      description: 'Used and hard request limits',
      cell: (o) => {
        const hard = (status(o).hard ?? spec(o).hard ?? {}) as Record<string, string>;
        const used = (status(o).used ?? {}) as Record<string, string>;
        return Object.keys(hard).filter((k) => !k.startsWith('limits.')).sort().map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`).join(', ');
      },
    },
    {
      name: 'Limit',
      type: 'string',
      description: 'Used and hard limit limits',
      cell: (o) => {
        const hard = (status(o).hard ?? spec(o).hard ?? {}) as Record<string, string>;
        const used = (status(o).used ?? {}) as Record<string, string>;
        return Object.keys(hard).filter((k) => k.startsWith('limits.')).sort().map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`).join(', ');
      },
    },
  ],
  certificatesigningrequests: [
    name,
    age,
    { name: 'SignerName', type: 'string', description: 'Signer', cell: (o) => spec(o).signerName ?? '' },
    { name: 'Requestor', type: 'string', description: 'Who asked', cell: (o) => spec(o).username ?? '' },
    {
      name: 'RequestedDuration',
      type: 'string',
      description: 'Requested validity',
      cell: (o) => (spec(o).expirationSeconds ? humanDuration(spec(o).expirationSeconds * 1000) : '<none>'),
    },
    {
      name: 'Condition',
      type: 'string',
      description: 'Approval and issuance',
      cell: (o) => {
        const conditions = ((status(o).conditions ?? []) as Any[]).filter((c) => c.status !== 'False').map((c) => c.type as string);
        if (status(o).certificate) conditions.push('Issued');
        return conditions.length ? conditions.join(',') : 'Pending';
      },
    },
  ],
};

export function tableFor(info: ResourceInfo, objects: readonly KubeObject[], resourceVersion: string | undefined, includeObject: string, now = Date.now()) {
  const ownColumns = ['', 'apps', 'batch', 'coordination.k8s.io', 'certificates.k8s.io', 'discovery.k8s.io', 'rbac.authorization.k8s.io'];
  // events.k8s.io events print as core events do (upstream prints both from one internal type).
  const eventsV1 = info.group === 'events.k8s.io';
  const cols = eventsV1 ? columns.events! : ((ownColumns.includes(info.group) ? columns[info.resource] : undefined) ?? [name, createdAt]);
  const cellSource = eventsV1 ? eventsV1ToCore : (o: KubeObject) => o;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion !== undefined ? { resourceVersion } : {},
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(cellSource(o), now)),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
