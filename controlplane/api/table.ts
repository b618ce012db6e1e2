/**
 * Table output (meta.k8s.io/v1 Table): the columns kubectl prints for each resource. Columns with
 * priority 1 appear only with `-o wide`. Resources without their own columns get NAME + CREATED AT,
 * as upstream's default.
 */
import { eventsV1ToCore } from './event-conversion.ts';
import type { KubeObject } from '../../kube/types.ts';
import { humanDuration } from './age.ts';
import { summarisePod } from './table-pod.ts';
import type { ResourceInfo } from './resources.ts';
import { isDefaultClass } from '../admission/default-storage-class.ts';
import { hpaV1ToV2 } from './hpa-conversion.ts';
import { hpaTargets } from './table-hpa.ts';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  format?: string;
  priority?: number;
  description: string;
  cell(object: KubeObject, now: number): string | number | boolean;
}

type Any = Record<string, any>; // eslint-style escape hatch: table cells read deep optional fields
const spec = (o: KubeObject): Any => (o.spec ?? {}) as Any;
const status = (o: KubeObject): Any => (o.status ?? {}) as Any;

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name of the object',
  cell: (o) => o.metadata.name ?? '',
};
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'Time since the object was created',
  cell: (o, now) =>
    o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>',
};
const createdAt: Column = {
  name: 'Created At',
  type: 'date',
  description: 'Creation timestamp',
  cell: (o) => o.metadata.creationTimestamp ?? '',
};

/** `k=v` pairs sorted by key, as upstream's labels.FormatLabels; `<none>` when empty. */
function labelsText(labels: Record<string, string> | undefined): string {
  const parts = Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${labels![k]}`);
  return parts.length ? parts.join(',') : '<none>';
}

/** A LabelSelector as upstream's FormatLabelSelector writes it: labels, then expressions. */
function selectorText(selector: Any | undefined): string {
  if (!selector) return '<none>';
  const parts = Object.keys(selector.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${selector.matchLabels[k]}`);
  for (const e of (selector.matchExpressions ?? []) as Any[]) {
    const values = ((e.values ?? []) as string[]).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

/** At most three items, then "+ N more...", as upstream lists endpoints; `empty` when none. */
function listWithMore(items: string[], empty: string): string {
  if (items.length === 0) return empty;
  return items.length > 3 ? `${items.slice(0, 3).join(',')} + ${items.length - 3} more...` : items.join(',');
}

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

function servicePorts(svc: KubeObject): string {
  const ports: Any[] = spec(svc).ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

/** EXTERNAL-IP: external IPs, load balancer ingress (`<pending>` until it has one), the external name. */
function serviceExternalIP(svc: KubeObject): string {
  const type: string = spec(svc).type ?? 'ClusterIP';
  const externalIPs: string[] = spec(svc).externalIPs ?? [];
  if (type === 'ClusterIP' || type === 'NodePort') return externalIPs.length ? externalIPs.join(',') : '<none>';
  if (type === 'ExternalName') return spec(svc).externalName ?? '';
  if (type !== 'LoadBalancer') return '<unknown>';
  const ingress = ((status(svc).loadBalancer?.ingress ?? []) as Any[])
    .map((i) => i.ip || i.hostname)
    .filter(Boolean) as string[];
  const all = [...ingress, ...externalIPs];
  return all.length ? all.join(',') : '<pending>';
}

/** Ingress HOSTS: the rules' hosts, three at most then "+ N more...", `*` when no rule names one. */
function ingressHosts(ingress: KubeObject): string {
  const rules = (spec(ingress).rules ?? []) as Any[];
  const hosts = rules
    .slice(0, 3)
    .map((r) => r.host)
    .filter((h): h is string => typeof h === 'string' && h !== '');
  if (hosts.length === 0) return '*';
  return rules.length > 3 ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

/** Node STATUS: Ready or NotReady from the Ready condition (Unknown only without one), and SchedulingDisabled. */
function nodeStatus(node: KubeObject): string {
  const ready = ((status(node).conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
  const parts = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (spec(node).unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

/** Node ROLES: node-role.kubernetes.io/<role> labels and the older kubernetes.io/role label, sorted. */
function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/') && key.length > 'node-role.kubernetes.io/'.length)
      roles.add(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function jobStatus(job: KubeObject): string {
  const conditions = (status(job).conditions ?? []) as Any[];
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobCompletions(job: KubeObject): string {
  const succeeded = status(job).succeeded ?? 0;
  if (spec(job).completions !== undefined && spec(job).completions !== null)
    return `${succeeded}/${spec(job).completions}`;
  const parallelism = spec(job).parallelism;
  return typeof parallelism === 'number' && parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** CSR CONDITION: Denied, Approved or Pending, then Failed and Issued. */
function csrCondition(csr: KubeObject): string {
  const types = new Set(((status(csr).conditions ?? []) as Any[]).map((c) => c.type as string));
  let text = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) text += ',Failed';
  if (status(csr).certificate) text += ',Issued';
  return text;
}

const since = (when: unknown, now: number) =>
  typeof when === 'string' && when !== '' ? humanDuration(now - Date.parse(when)) : '<unknown>';

/** LAST SEEN, FIRST SEEN and COUNT of an event: the series when there is one, eventTime for new-style events. */
function eventTimes(event: KubeObject, now: number): { last: string; first: string; count: number } {
  const first = since(event.firstTimestamp || event.eventTime, now);
  const series = event.series as Any | undefined;
  if (series) return { last: since(series.lastObservedTime, now), first, count: series.count ?? 0 };
  return {
    last: event.lastTimestamp ? since(event.lastTimestamp, now) : first,
    first,
    count: (event.count as number | undefined) || 1,
  };
}

const templateColumns: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    description: 'Names of each container in the template.',
    cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    description: 'Images referenced by each container in the template.',
    cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(','),
  },
];
const selectorColumn: Column = {
  name: 'Selector',
  type: 'string',
  priority: 1,
  description: 'Label selector of the pods',
  cell: (o) => selectorText(spec(o).selector),
};
const jobTemplateColumns: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    description: 'Names of each container in the template.',
    cell: (o) => ((spec(o).jobTemplate?.spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    description: 'Images referenced by each container in the template.',
    cell: (o) => ((spec(o).jobTemplate?.spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(','),
  },
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    description: 'Label selector of the pods',
    cell: (o) => selectorText(spec(o).jobTemplate?.spec?.selector),
  },
];

function subjectsOf(binding: KubeObject, kind: string): string {
  return ((binding.subjects as Any[] | undefined) ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(',');
}
const bindingColumns: Column[] = [
  name,
  {
    name: 'Role',
    type: 'string',
    description: 'Bound role',
    cell: (o) => `${(o.roleRef as Any)?.kind ?? ''}/${(o.roleRef as Any)?.name ?? ''}`,
  },
  age,
  {
    name: 'Users',
    type: 'string',
    priority: 1,
    description: 'Users in the binding',
    cell: (o) => subjectsOf(o, 'User'),
  },
  {
    name: 'Groups',
    type: 'string',
    priority: 1,
    description: 'Groups in the binding',
    cell: (o) => subjectsOf(o, 'Group'),
  },
  {
    name: 'ServiceAccounts',
    type: 'string',
    priority: 1,
    description: 'Service accounts in the binding',
    cell: (o) => subjectsOf(o, 'ServiceAccount'),
  },
];

const webhookConfigurationColumns: Column[] = [
  name,
  {
    name: 'Webhooks',
    type: 'integer',
    description: 'Webhooks indicates the number of webhooks',
    cell: (o) => (((o as Any).webhooks ?? []) as unknown[]).length,
  },
  age,
];

/** A binding's parameter: `<unset>`, `[namespace/]name`, or `*` for parameters chosen by selector. */
function paramRefText(ref: Any | undefined): string {
  if (!ref) return '<unset>';
  const name = ref.name ? String(ref.name) : '*';
  return ref.namespace ? `${ref.namespace}/${name}` : name;
}

/** True, or False/Unknown with the reason in brackets, as upstream prints an APIService. */
function apiServiceAvailable(o: KubeObject): string {
  const condition = ((status(o).conditions ?? []) as Any[]).find((c) => c.type === 'Available');
  if (!condition) return 'Unknown';
  return condition.status === 'True' || !condition.reason
    ? String(condition.status)
    : `${condition.status} (${condition.reason})`;
}

/** Access modes in kubectl's short form (RWO, ROX, RWX, RWOP). */
function accessModesText(modes: readonly string[] | undefined): string {
  const short: Record<string, string> = {
    ReadWriteOnce: 'RWO',
    ReadOnlyMany: 'ROX',
    ReadWriteMany: 'RWX',
    ReadWriteOncePod: 'RWOP',
  };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}
const unsetText = (value: unknown): string => (typeof value === 'string' && value !== '' ? value : '<unset>');
/** The class columns that PVs and claims share. */
const classColumns: Column[] = [
  { name: 'StorageClass', type: 'string', description: 'Class', cell: (o) => spec(o).storageClassName ?? '' },
  {
    name: 'VolumeAttributesClass',
    type: 'string',
    description: 'Volume attributes class',
    cell: (o) => unsetText(spec(o).volumeAttributesClassName),
  },
];
const volumeModeColumn: Column = {
  name: 'VolumeMode',
  type: 'string',
  priority: 1,
  description: 'Filesystem or Block',
  cell: (o) => spec(o).volumeMode ?? '<unset>',
};

const columns: Record<string, Column[]> = {
  pods: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (o, now) => summarisePod(o, now).ready,
    },
    {
      name: 'Status',
      type: 'string',
      description: 'The aggregate status of the containers in this pod.',
      cell: (o, now) => summarisePod(o, now).reason,
    },
    {
      name: 'Restarts',
      type: 'string',
      description:
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      cell: (o, now) => summarisePod(o, now).restarts,
    },
    age,
    {
      name: 'IP',
      type: 'string',
      priority: 1,
      description: 'Pod IP',
      cell: (o) => status(o).podIPs?.[0]?.ip || status(o).podIP || '<none>',
    },
    {
      name: 'Node',
      type: 'string',
      priority: 1,
      description: 'Node the pod runs on',
      cell: (o) => spec(o).nodeName || '<none>',
    },
    {
      name: 'Nominated Node',
      type: 'string',
      priority: 1,
      description: 'Nominated node',
      cell: (o) => status(o).nominatedNodeName || '<none>',
    },
    {
      name: 'Readiness Gates',
      type: 'string',
      priority: 1,
      description: 'Readiness gates',
      cell: (o) => {
        const gates: Any[] = spec(o).readinessGates ?? [];
        if (gates.length === 0) return '<none>';
        const conditions: Any[] = status(o).conditions ?? [];
        const ready = gates.filter((g) =>
          conditions.some((c) => c.type === g.conditionType && c.status === 'True'),
        ).length;
        return `${ready}/${gates.length}`;
      },
    },
  ],
  namespaces: [
    name,
    { name: 'Status', type: 'string', description: 'Phase', cell: (o) => status(o).phase ?? 'Active' },
    age,
  ],
  nodes: [
    name,
    { name: 'Status', type: 'string', description: 'The status of the node', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRoles },
    age,
    {
      name: 'Version',
      type: 'string',
      description: 'Kubelet version',
      cell: (o) => status(o).nodeInfo?.kubeletVersion ?? '',
    },
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
    {
      name: 'OS-Image',
      type: 'string',
      priority: 1,
      description: 'OS image',
      cell: (o) => status(o).nodeInfo?.osImage || '<unknown>',
    },
    {
      name: 'Kernel-Version',
      type: 'string',
      priority: 1,
      description: 'Kernel',
      cell: (o) => status(o).nodeInfo?.kernelVersion || '<unknown>',
    },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      description: 'Container runtime',
      cell: (o) => status(o).nodeInfo?.containerRuntimeVersion || '<unknown>',
    },
  ],
  services: [
    name,
    { name: 'Type', type: 'string', description: 'Service type', cell: (o) => spec(o).type ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', description: 'Cluster IP', cell: (o) => spec(o).clusterIP || '<none>' },
    { name: 'External-IP', type: 'string', description: 'External addresses', cell: serviceExternalIP },
    { name: 'Port(s)', type: 'string', description: 'Ports', cell: servicePorts },
    age,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      description: 'Pod selector',
      cell: (o) => labelsText(spec(o).selector),
    },
  ],
  configmaps: [
    name,
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of keys',
      cell: (o) => Object.keys((o.data as Any) ?? {}).length + Object.keys((o.binaryData as Any) ?? {}).length,
    },
    age,
  ],
  secrets: [
    name,
    { name: 'Type', type: 'string', description: 'Secret type', cell: (o) => (o.type as string) ?? 'Opaque' },
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of keys',
      cell: (o) => Object.keys((o.data as Any) ?? {}).length,
    },
    age,
  ],
  serviceaccounts: [
    name,
    { name: 'Secrets', type: 'integer', description: 'Secrets', cell: (o) => ((o.secrets as unknown[]) ?? []).length },
    age,
  ],
  endpoints: [
    name,
    {
      name: 'Endpoints',
      type: 'string',
      description: 'Endpoints',
      cell: (o) => {
        const subsets = (o.subsets as Any[] | undefined) ?? [];
        if (subsets.length === 0) return '<none>';
        // each port with each address, as upstream lists them
        const list = subsets.flatMap((subset) => {
          const addresses = ((subset.addresses ?? []) as Any[]).map((a) => a.ip as string);
          const ports = (subset.ports ?? []) as Any[];
          return ports.length === 0 ? addresses : ports.flatMap((p) => addresses.map((ip) => hostPort(ip, p.port)));
        });
        return listWithMore(list, '');
      },
    },
    age,
  ],
  deployments: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'Ready replicas',
      cell: (o) => `${status(o).readyReplicas ?? 0}/${spec(o).replicas ?? 1}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      description: 'Updated replicas',
      cell: (o) => status(o).updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      description: 'Available replicas',
      cell: (o) => status(o).availableReplicas ?? 0,
    },
    age,
    ...templateColumns,
    selectorColumn,
  ],
  replicasets: [
    name,
    { name: 'Desired', type: 'integer', description: 'Desired replicas', cell: (o) => spec(o).replicas ?? 1 },
    { name: 'Current', type: 'integer', description: 'Current replicas', cell: (o) => status(o).replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Ready replicas', cell: (o) => status(o).readyReplicas ?? 0 },
    age,
    ...templateColumns,
    selectorColumn,
  ],
  replicationcontrollers: [
    name,
    { name: 'Desired', type: 'integer', description: 'Desired replicas', cell: (o) => spec(o).replicas ?? 1 },
    { name: 'Current', type: 'integer', description: 'Current replicas', cell: (o) => status(o).replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'Ready replicas', cell: (o) => status(o).readyReplicas ?? 0 },
    age,
    {
      name: 'Containers',
      type: 'string',
      priority: 1,
      description: 'Containers',
      cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(','),
    },
    {
      name: 'Images',
      type: 'string',
      priority: 1,
      description: 'Images',
      cell: (o) => ((spec(o).template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(','),
    },
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      description: 'Selector',
      cell: (o) => labelsText(spec(o).selector),
    },
  ],
  networkpolicies: [
    name,
    {
      name: 'Pod-Selector',
      type: 'string',
      description:
        'Selects the pods to which this NetworkPolicy object applies. An empty podSelector matches all pods in this namespace.',
      cell: (o) => selectorText(spec(o).podSelector ?? {}),
    },
    age,
  ],
  priorityclasses: [
    name,
    {
      name: 'Value',
      type: 'integer',
      description: 'The priority pods of this class get',
      cell: (o) => (o.value as number | undefined) ?? 0,
    },
    {
      name: 'Global-Default',
      type: 'boolean',
      description: 'Whether pods without a class get this one',
      cell: (o) => o.globalDefault === true,
    },
    age,
    {
      name: 'PreemptionPolicy',
      type: 'string',
      description: 'Whether pods of this class preempt lower-priority pods',
      cell: (o) => (o.preemptionPolicy as string | undefined) ?? '',
    },
  ],
  poddisruptionbudgets: [
    name,
    {
      name: 'Min Available',
      type: 'string',
      description: 'Pods that must stay available',
      cell: (o) => String(spec(o).minAvailable ?? 'N/A'),
    },
    {
      name: 'Max Unavailable',
      type: 'string',
      description: 'Pods that may be unavailable',
      cell: (o) => String(spec(o).maxUnavailable ?? 'N/A'),
    },
    {
      name: 'Allowed Disruptions',
      type: 'integer',
      description: 'Evictions allowed now',
      cell: (o) => status(o).disruptionsAllowed ?? 0,
    },
    age,
  ],
  ingresses: [
    name,
    {
      name: 'Class',
      type: 'string',
      description: 'The name of the IngressClass resource that should be used',
      cell: (o) => spec(o).ingressClassName ?? '<none>',
    },
    {
      name: 'Hosts',
      type: 'string',
      description: 'Hosts that incoming requests are matched against before the ingress rule',
      cell: (o) => ingressHosts(o),
    },
    {
      name: 'Address',
      type: 'string',
      description: 'Address is a list containing ingress points for the load-balancer',
      cell: (o) =>
        ((status(o).loadBalancer?.ingress ?? []) as Any[])
          .map((i) => i.ip || i.hostname)
          .filter(Boolean)
          .join(','),
    },
    {
      name: 'Ports',
      type: 'string',
      description: 'Ports of TLS configurations that open',
      cell: (o) => (((spec(o).tls ?? []) as Any[]).length > 0 ? '80, 443' : '80'),
    },
    age,
  ],
  ingressclasses: [
    name,
    {
      name: 'Controller',
      type: 'string',
      description: 'Controller that is responsible for handling this class',
      cell: (o) => spec(o).controller ?? '',
    },
    {
      name: 'Parameters',
      type: 'string',
      description: 'A reference to a resource with additional parameters',
      cell: (o) => {
        const p = spec(o).parameters;
        if (p === undefined || p === null) return '<none>';
        return `${p.kind ?? ''}${p.apiGroup ? `.${p.apiGroup}` : ''}/${p.name ?? ''}`;
      },
    },
    age,
  ],
  leases: [
    name,
    { name: 'Holder', type: 'string', description: 'Holder identity', cell: (o) => spec(o).holderIdentity ?? '' },
    age,
  ],
  daemonsets: [
    name,
    {
      name: 'Desired',
      type: 'integer',
      description: 'Nodes that should run the pod',
      cell: (o) => status(o).desiredNumberScheduled ?? 0,
    },
    {
      name: 'Current',
      type: 'integer',
      description: 'Nodes running the pod',
      cell: (o) => status(o).currentNumberScheduled ?? 0,
    },
    {
      name: 'Ready',
      type: 'integer',
      description: 'Nodes with the pod ready',
      cell: (o) => status(o).numberReady ?? 0,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      description: 'Nodes with the current template',
      cell: (o) => status(o).updatedNumberScheduled ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      description: 'Nodes with the pod available',
      cell: (o) => status(o).numberAvailable ?? 0,
    },
    {
      name: 'Node Selector',
      type: 'string',
      description: 'Node selector of the pods',
      cell: (o) => labelsText(spec(o).template?.spec?.nodeSelector),
    },
    age,
    ...templateColumns,
    selectorColumn,
  ],
  statefulsets: [
    name,
    {
      name: 'Ready',
      type: 'string',
      description: 'Ready replicas',
      cell: (o) => `${status(o).readyReplicas ?? 0}/${spec(o).replicas ?? 1}`,
    },
    age,
    ...templateColumns,
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
    { name: 'Status', type: 'string', description: 'Status of the job', cell: jobStatus },
    { name: 'Completions', type: 'string', description: 'The completed pods of the wanted', cell: jobCompletions },
    {
      name: 'Duration',
      type: 'string',
      description: 'Time the job took, or has been running',
      cell: (o, now) => {
        const start = status(o).startTime ? Date.parse(status(o).startTime) : undefined;
        if (start === undefined) return '';
        const end = status(o).completionTime ? Date.parse(status(o).completionTime) : now;
        return humanDuration(end - start);
      },
    },
    age,
    ...templateColumns,
    selectorColumn,
  ],
  cronjobs: [
    name,
    { name: 'Schedule', type: 'string', description: 'Cron schedule', cell: (o) => spec(o).schedule ?? '' },
    { name: 'Timezone', type: 'string', description: 'Time zone', cell: (o) => spec(o).timeZone ?? '<none>' },
    { name: 'Suspend', type: 'boolean', description: 'Suspended', cell: (o) => (spec(o).suspend ? 'True' : 'False') },
    {
      name: 'Active',
      type: 'integer',
      description: 'Running jobs',
      cell: (o) => ((status(o).active ?? []) as unknown[]).length,
    },
    {
      name: 'Last Schedule',
      type: 'string',
      description: 'Since the last run was scheduled',
      cell: (o, now) =>
        status(o).lastScheduleTime ? humanDuration(now - Date.parse(status(o).lastScheduleTime)) : '<none>',
    },
    age,
    ...jobTemplateColumns,
  ],
  endpointslices: [
    name,
    {
      name: 'AddressType',
      type: 'string',
      description: 'Address family',
      cell: (o) => (o.addressType as string) ?? '',
    },
    {
      name: 'Ports',
      type: 'string',
      description: 'Ports',
      cell: (o) =>
        listWithMore(
          ((o.ports as Any[]) ?? []).map((p) => String(p.port ?? p.name ?? '*')),
          '<unset>',
        ),
    },
    {
      name: 'Endpoints',
      type: 'string',
      description: 'Addresses',
      cell: (o) =>
        listWithMore(
          ((o.endpoints as Any[]) ?? []).flatMap((e) => (e.addresses ?? []) as string[]),
          '<unset>',
        ),
    },
    age,
  ],
  events: [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Since the event last happened',
      cell: (o, now) => eventTimes(o, now).last,
    },
    { name: 'Type', type: 'string', description: 'Normal or Warning', cell: (o) => (o.type as string) ?? '' },
    { name: 'Reason', type: 'string', description: 'Reason', cell: (o) => (o.reason as string) ?? '' },
    {
      name: 'Object',
      type: 'string',
      description: 'What the event is about',
      cell: (o) => {
        const io = (o.involvedObject ?? {}) as Any;
        const kind = String(io.kind ?? '').toLowerCase();
        return io.name ? `${kind}/${io.name}` : kind;
      },
    },
    {
      name: 'Subobject',
      type: 'string',
      priority: 1,
      description: 'Field of the object',
      cell: (o) => String((o.involvedObject as Any | undefined)?.fieldPath ?? ''),
    },
    {
      name: 'Source',
      type: 'string',
      priority: 1,
      description: 'Component and host that reported it',
      cell: (o) => {
        const source = (o.source ?? {}) as Any;
        const component = source.component || o.reportingComponent || '';
        const host = source.host || o.reportingInstance || '';
        return host ? `${component}, ${host}` : String(component);
      },
    },
    { name: 'Message', type: 'string', description: 'Message', cell: (o) => String(o.message ?? '').trim() },
    {
      name: 'First Seen',
      type: 'string',
      priority: 1,
      description: 'Since the event first happened',
      cell: (o, now) => eventTimes(o, now).first,
    },
    {
      name: 'Count',
      type: 'string',
      priority: 1,
      description: 'How often it happened',
      cell: (o) => eventTimes(o, 0).count,
    },
    { ...name, priority: 1 },
  ],
  rolebindings: bindingColumns,
  clusterrolebindings: bindingColumns,
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
        return Object.keys(hard)
          .filter((k) => !k.startsWith('limits.'))
          .sort()
          .map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`)
          .join(', ');
      },
    },
    {
      name: 'Limit',
      type: 'string',
      description: 'Used and hard limit limits',
      cell: (o) => {
        const hard = (status(o).hard ?? spec(o).hard ?? {}) as Record<string, string>;
        const used = (status(o).used ?? {}) as Record<string, string>;
        return Object.keys(hard)
          .filter((k) => k.startsWith('limits.'))
          .sort()
          .map((k) => `${k}: ${used[k] ?? '0'}/${hard[k]}`)
          .join(', ');
      },
    },
  ],
  persistentvolumes: [
    name,
    { name: 'Capacity', type: 'string', description: 'Capacity', cell: (o) => spec(o).capacity?.storage ?? '' },
    {
      name: 'Access Modes',
      type: 'string',
      description: 'Access modes',
      cell: (o) => accessModesText(spec(o).accessModes),
    },
    {
      name: 'Reclaim Policy',
      type: 'string',
      description: 'Reclaim policy',
      cell: (o) => spec(o).persistentVolumeReclaimPolicy ?? '',
    },
    { name: 'Status', type: 'string', description: 'Phase', cell: (o) => status(o).phase ?? '' },
    {
      name: 'Claim',
      type: 'string',
      description: 'Bound claim',
      cell: (o) => (spec(o).claimRef ? `${spec(o).claimRef.namespace}/${spec(o).claimRef.name}` : ''),
    },
    ...classColumns,
    { name: 'Reason', type: 'string', description: 'Reason', cell: (o) => status(o).reason ?? '' },
    age,
    volumeModeColumn,
  ],
  persistentvolumeclaims: [
    name,
    { name: 'Status', type: 'string', description: 'Phase', cell: (o) => status(o).phase ?? '' },
    { name: 'Volume', type: 'string', description: 'Bound volume', cell: (o) => spec(o).volumeName ?? '' },
    {
      name: 'Capacity',
      type: 'string',
      description: 'Capacity',
      cell: (o) => (status(o).phase === 'Bound' ? (status(o).capacity?.storage ?? '') : ''),
    },
    {
      name: 'Access Modes',
      type: 'string',
      description: 'Access modes',
      cell: (o) => (status(o).phase === 'Bound' ? accessModesText(status(o).accessModes) : ''),
    },
    ...classColumns,
    age,
    volumeModeColumn,
  ],
  storageclasses: [
    {
      ...name,
      cell: (o) => {
        return `${o.metadata.name ?? ''}${isDefaultClass(o) ? ' (default)' : ''}`;
      },
    },
    { name: 'Provisioner', type: 'string', description: 'Provisioner', cell: (o) => (o as Any).provisioner ?? '' },
    {
      name: 'ReclaimPolicy',
      type: 'string',
      description: 'Reclaim policy',
      cell: (o) => (o as Any).reclaimPolicy ?? 'Delete',
    },
    {
      name: 'VolumeBindingMode',
      type: 'string',
      description: 'Binding mode',
      cell: (o) => (o as Any).volumeBindingMode ?? 'Immediate',
    },
    {
      name: 'AllowVolumeExpansion',
      type: 'boolean',
      description: 'Whether claims may grow',
      cell: (o) => String((o as Any).allowVolumeExpansion ?? false),
    },
    age,
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
    { name: 'Condition', type: 'string', description: 'Approval and issuance', cell: csrCondition },
  ],
  mutatingwebhookconfigurations: webhookConfigurationColumns,
  validatingwebhookconfigurations: webhookConfigurationColumns,
  validatingadmissionpolicies: [
    name,
    {
      name: 'Validations',
      type: 'integer',
      description: 'Validations indicates the number of validation rules',
      cell: (o) => (spec(o).validations ?? []).length,
    },
    {
      name: 'ParamKind',
      type: 'string',
      description: 'ParamKind specifies the kind of resources used to parameterize this policy',
      cell: (o) => (spec(o).paramKind ? `${spec(o).paramKind.apiVersion}/${spec(o).paramKind.kind}` : '<unset>'),
    },
    age,
  ],
  validatingadmissionpolicybindings: [
    name,
    {
      name: 'PolicyName',
      type: 'string',
      description: 'PolicyName indicates the policy definition which the policy binding binded to',
      cell: (o) => spec(o).policyName ?? '',
    },
    {
      name: 'ParamRef',
      type: 'string',
      description: 'ParamRef indicates the param resource which sets the configration param',
      cell: (o) => paramRefText(spec(o).paramRef),
    },
    age,
  ],
  horizontalpodautoscalers: [
    name,
    {
      name: 'Reference',
      type: 'string',
      description: 'the target resource to scale',
      cell: (o) => `${spec(o).scaleTargetRef?.kind ?? ''}/${spec(o).scaleTargetRef?.name ?? ''}`,
    },
    { name: 'Targets', type: 'string', description: 'the metrics to scale on', cell: (o) => hpaTargets(o) },
    {
      name: 'MinPods',
      type: 'string',
      description: 'the lower limit for the number of replicas',
      cell: (o) => (typeof spec(o).minReplicas === 'number' ? String(spec(o).minReplicas) : '<unset>'),
    },
    {
      name: 'MaxPods',
      type: 'integer',
      description: 'the upper limit for the number of replicas',
      cell: (o) => spec(o).maxReplicas ?? 0,
    },
    {
      name: 'Replicas',
      type: 'integer',
      description: 'current number of replicas of pods managed by this autoscaler',
      cell: (o) => status(o).currentReplicas ?? 0,
    },
    age,
  ],
  apiservices: [
    name,
    {
      name: 'Service',
      type: 'string',
      description: 'The reference to the service that hosts this API endpoint.',
      cell: (o) => (spec(o).service ? `${spec(o).service.namespace}/${spec(o).service.name}` : 'Local'),
    },
    {
      name: 'Available',
      type: 'string',
      description: 'Whether this service is available.',
      cell: apiServiceAvailable,
    },
    age,
  ],
};

export function tableFor(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  resourceVersion: string | undefined,
  includeObject: string,
  now = Date.now(),
) {
  if (info.custom !== undefined)
    return info.custom.table(
      objects as unknown as readonly Record<string, unknown>[],
      resourceVersion,
      includeObject,
      now,
    ) as ReturnType<typeof builtInTable>;
  return builtInTable(info, objects, resourceVersion, includeObject, now);
}

function builtInTable(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  resourceVersion: string | undefined,
  includeObject: string,
  now: number,
) {
  const ownColumns = [
    '',
    'apps',
    'batch',
    'coordination.k8s.io',
    'certificates.k8s.io',
    'policy',
    'scheduling.k8s.io',
    'discovery.k8s.io',
    'networking.k8s.io',
    'rbac.authorization.k8s.io',
    'admissionregistration.k8s.io',
    'apiregistration.k8s.io',
    'autoscaling',

    'storage.k8s.io',
  ];
  // events.k8s.io events print as core events do (upstream prints both from one internal type).
  const eventsV1 = info.group === 'events.k8s.io';
  const cols = eventsV1
    ? columns.events!
    : ((ownColumns.includes(info.group) ? columns[info.resource] : undefined) ?? [name, createdAt]);
  // autoscaling/v1 objects print from the v2 form, as upstream prints both from its internal type
  const hpaV1 = info.group === 'autoscaling' && info.version === 'v1';
  const cellSource = eventsV1 ? eventsV1ToCore : hpaV1 ? hpaV1ToV2 : (o: KubeObject) => o;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion !== undefined ? { resourceVersion } : {},
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(cellSource(o), now)),
      object: rowObject(o, includeObject),
    })),
  };
}

/** What a Table row carries of its object, as `includeObject` asks: None, Metadata (the default) or Object. */
export function rowObject(object: { metadata?: unknown }, includeObject: string): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}
