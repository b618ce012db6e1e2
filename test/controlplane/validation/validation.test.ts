/**
 * The validation module, group by group: objects as kubectl generates them pass; each hostile or
 * malformed field is refused at upstream's field path with upstream's wording.
 */
import test from 'ava';
import { validationErrors, type ValidatedResource } from '../../../controlplane/validation/index.ts';

type Any = Record<string, any>;

const resource = (group: string, resource: string, kind: string, namespaced = true): ValidatedResource => ({
  group,
  resource,
  kind,
  namespaced,
});
const pods = resource('', 'pods', 'Pod');
const services = resource('', 'services', 'Service');
const configmaps = resource('', 'configmaps', 'ConfigMap');
const secrets = resource('', 'secrets', 'Secret');
const nodes = resource('', 'nodes', 'Node', false);
const endpoints = resource('', 'endpoints', 'Endpoints');
const slices = resource('discovery.k8s.io', 'endpointslices', 'EndpointSlice');
const deployments = resource('apps', 'deployments', 'Deployment');
const statefulsets = resource('apps', 'statefulsets', 'StatefulSet');
const jobs = resource('batch', 'jobs', 'Job');
const cronjobs = resource('batch', 'cronjobs', 'CronJob');
const roles = resource('rbac.authorization.k8s.io', 'roles', 'Role');
const rolebindings = resource('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding');
const clusterrolebindings = resource('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false);
const leases = resource('coordination.k8s.io', 'leases', 'Lease');
const events = resource('', 'events', 'Event');
const csrs = resource('certificates.k8s.io', 'certificatesigningrequests', 'CertificateSigningRequest', false);

const meta = (name: string, extra: Any = {}) => ({ name, namespace: 'default', ...extra });
const podSpec = (extra: Any = {}, container: Any = {}) => ({
  containers: [{ name: 'web', image: 'nginx:1.27', ...container }],
  restartPolicy: 'Always',
  ...extra,
});
const pod = (extra: Any = {}, container: Any = {}) => ({ metadata: meta('p'), spec: podSpec(extra, container) });
const template = (spec: Any = podSpec()) => ({ metadata: { labels: { app: 'web' } }, spec });
const deployment = (spec: Any = {}) => ({
  metadata: meta('web'),
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template(), ...spec },
});
const service = (spec: Any = {}) => ({
  metadata: meta('web'),
  spec: {
    type: 'ClusterIP',
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    ...spec,
  },
});
const slice = (extra: Any = {}) => ({
  metadata: meta('web-abc12'),
  addressType: 'IPv4',
  endpoints: [
    {
      addresses: ['10.244.1.5'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'n1',
      targetRef: { kind: 'Pod', name: 'web-1', namespace: 'default' },
    },
  ],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  ...extra,
});

/** Objects as kubectl's generators (create deployment/service/configmap/secret/job/cronjob/role/rolebinding) send them. */
const valid: Array<[string, ValidatedResource, Any]> = [
  [
    'pod from kubectl run',
    pods,
    {
      metadata: meta('nginx', { labels: { run: 'nginx' } }),
      spec: {
        containers: [{ name: 'nginx', image: 'nginx', resources: {} }],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
      },
    },
  ],
  [
    'pod with every volume kind the agent mounts',
    pods,
    pod(
      {
        volumes: [
          {
            name: 'cfg',
            configMap: { name: 'cfg', items: [{ key: 'a.conf', path: 'conf/a.conf' }], defaultMode: 0o644 },
          },
          { name: 'sec', secret: { secretName: 'sec', defaultMode: 420 } },
          { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
          { name: 'logs', hostPath: { path: '/var/log', type: 'Directory' } },
          {
            name: 'kube-api-access-x1y2z',
            projected: {
              defaultMode: 420,
              sources: [
                { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                {
                  downwardAPI: {
                    items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                  },
                },
              ],
            },
          },
          { name: 'nosource' },
        ],
      },
      {
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [
          { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'A', value: 'b' },
        ],
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/app', subPath: 'conf' },
          { name: 'scratch', mountPath: '/tmp/x' },
        ],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, successThreshold: 1, periodSeconds: 10 },
        readinessProbe: { tcpSocket: { port: 8080 } },
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
      },
    ),
  ],
  ['deployment from kubectl create deployment', deployments, deployment({ strategy: {} })],
  ['service from kubectl create service clusterip', services, service()],
  ['headless service', services, service({ clusterIP: 'None', ports: undefined })],
  [
    'ExternalName service',
    services,
    { metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'example.com.' } },
  ],
  [
    'configmap from kubectl create configmap --from-file',
    configmaps,
    { metadata: meta('cfg'), data: { 'app.conf': 'x', '.hidden': 'y' }, binaryData: { 'logo.png': 'AAAA' } },
  ],
  [
    'tls secret',
    secrets,
    { metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==', 'tls.key': 'AA==' } },
  ],
  [
    'endpoints',
    endpoints,
    {
      metadata: meta('web'),
      subsets: [{ addresses: [{ ip: '10.244.1.5', nodeName: 'n1' }], ports: [{ port: 8080, protocol: 'TCP' }] }],
    },
  ],
  ['endpointslice', slices, slice()],
  [
    'FQDN endpointslice',
    slices,
    slice({ addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }], ports: [{ port: 5432 }] }),
  ],
  [
    'node',
    nodes,
    {
      metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
      spec: {
        podCIDR: '10.244.1.0/24',
        podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
        taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
      },
    },
  ],
  [
    'statefulset',
    statefulsets,
    {
      metadata: meta('db'),
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: template(),
        podManagementPolicy: 'Parallel',
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
      },
    },
  ],
  [
    'job from kubectl create job',
    jobs,
    { metadata: meta('pi'), spec: { template: { metadata: {}, spec: podSpec({ restartPolicy: 'Never' }) } } },
  ],
  [
    'cronjob with a macro schedule and a time zone',
    cronjobs,
    {
      metadata: meta('daily'),
      spec: {
        schedule: '@daily',
        timeZone: 'Europe/Berlin',
        jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
      },
    },
  ],
  [
    'cronjob from kubectl create cronjob',
    cronjobs,
    {
      metadata: meta('tick'),
      spec: {
        schedule: '*/1 * * * *',
        jobTemplate: {
          metadata: { name: 'tick' },
          spec: { template: { metadata: {}, spec: podSpec({ restartPolicy: 'OnFailure' }) } },
        },
      },
    },
  ],
  [
    'role from kubectl create role',
    roles,
    { metadata: meta('reader'), rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] },
  ],
  [
    'rolebinding from kubectl create rolebinding',
    rolebindings,
    {
      metadata: meta('admin-alice'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
        { kind: 'ServiceAccount', name: 'default', namespace: 'default' },
      ],
    },
  ],
  [
    'event about a pod, as the kubelet writes it',
    events,
    {
      metadata: meta('web-1.17a3b'),
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1' },
      reason: 'Started',
      type: 'Normal',
      count: 1,
    },
  ],
  [
    'event about a node, in default',
    events,
    { metadata: meta('n1.17a3b'), involvedObject: { kind: 'Node', name: 'n1' }, reason: 'NodeReady', count: 1 },
  ],
  ['lease', leases, { metadata: meta('n1'), spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } }],
  [
    'csr',
    csrs,
    {
      metadata: { name: 'node-csr-abc' },
      spec: {
        request: 'AAAA',
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
        expirationSeconds: 86400,
      },
    },
  ],
];

for (const [title, info, object] of valid) {
  test(`accepted: ${title}`, (t) => {
    t.deepEqual(validationErrors(info, object).causes, []);
  });
}

const label1123 =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** [title, resource, object, field path, start of the message]. */
const refused: Array<[string, ValidatedResource, Any, string, string]> = [
  [
    'a volume name that climbs out of the pod folder',
    pods,
    pod({ volumes: [{ name: '../../..', emptyDir: {} }] }),
    'spec.volumes[0].name',
    `Invalid value: "../../..": ${label1123}`,
  ],
  [
    'a duplicate volume name',
    pods,
    pod({
      volumes: [
        { name: 'a', emptyDir: {} },
        { name: 'a', emptyDir: {} },
      ],
    }),
    'spec.volumes[1].name',
    'Duplicate value: "a"',
  ],
  [
    'two sources in one volume',
    pods,
    pod({ volumes: [{ name: 'a', emptyDir: {}, hostPath: { path: '/x' } }] }),
    'spec.volumes[0].hostPath',
    'Forbidden: may not specify more than 1 volume type',
  ],
  [
    'a subPath that climbs out',
    pods,
    pod(
      { volumes: [{ name: 'a', emptyDir: {} }] },
      { volumeMounts: [{ name: 'a', mountPath: '/a', subPath: '../../etc' }] },
    ),
    'spec.containers[0].volumeMounts.subPath',
    'Invalid value: "../../etc": must not contain \'..\'',
  ],
  [
    'an absolute subPath',
    pods,
    pod(
      { volumes: [{ name: 'a', emptyDir: {} }] },
      { volumeMounts: [{ name: 'a', mountPath: '/a', subPath: '/etc' }] },
    ),
    'spec.containers[0].volumeMounts.subPath',
    'Invalid value: "/etc": must be a relative path',
  ],
  [
    'a mount of a volume that does not exist',
    pods,
    pod({}, { volumeMounts: [{ name: 'ghost', mountPath: '/a' }] }),
    'spec.containers[0].volumeMounts[0].name',
    'Not found: "ghost"',
  ],
  [
    'a mount without mountPath',
    pods,
    pod({ volumes: [{ name: 'a', emptyDir: {} }] }, { volumeMounts: [{ name: 'a' }] }),
    'spec.containers[0].volumeMounts[0].mountPath',
    'Required value',
  ],
  [
    'a configMap item path that climbs out',
    pods,
    pod({ volumes: [{ name: 'a', configMap: { name: 'c', items: [{ key: 'k', path: '../../../etc/cron.d/x' }] } }] }),
    'spec.volumes[0].configMap.items[0].path',
    'Invalid value: "../../../etc/cron.d/x": must not contain \'..\'',
  ],
  [
    'a secret item path starting with ..',
    pods,
    pod({ volumes: [{ name: 'a', secret: { secretName: 's', items: [{ key: 'k', path: '..data' }] } }] }),
    'spec.volumes[0].secret.items[0].path',
    'Invalid value: "..data": must not start with \'..\'',
  ],
  [
    'a hostPath with ..',
    pods,
    pod({ volumes: [{ name: 'a', hostPath: { path: '/var/../etc' } }] }),
    'spec.volumes[0].hostPath.path',
    'Invalid value: "/var/../etc": must not contain \'..\'',
  ],
  [
    'a defaultMode beyond 0777',
    pods,
    pod({ volumes: [{ name: 'a', secret: { secretName: 's', defaultMode: 0o4777 } }] }),
    'spec.volumes[0].secret.defaultMode',
    'Invalid value: 2559: must be a number between 0 and 0777 (octal), both inclusive',
  ],
  [
    'a container name with a newline',
    pods,
    pod({}, { name: 'web\nx' }),
    'spec.containers[0].name',
    `Invalid value: "web\\nx": ${label1123}`,
  ],
  ['a blank image', pods, pod({}, { image: '  ' }), 'spec.containers[0].image', 'Required value'],
  [
    'a container port name with a quote',
    pods,
    pod({}, { ports: [{ name: 'h"p', containerPort: 80 }] }),
    'spec.containers[0].ports[0].name',
    'Invalid value: "h\\"p": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ],
  [
    'a container port out of range',
    pods,
    pod({}, { ports: [{ containerPort: 70000 }] }),
    'spec.containers[0].ports[0].containerPort',
    'Invalid value: 70000: must be between 1 and 65535, inclusive',
  ],
  [
    'an unknown port protocol',
    pods,
    pod({}, { ports: [{ containerPort: 80, protocol: 'ICMP' }] }),
    'spec.containers[0].ports[0].protocol',
    'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
  ],
  [
    'an env name with =',
    pods,
    pod({}, { env: [{ name: 'A=B', value: 'x' }] }),
    'spec.containers[0].env[0].name',
    'Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than \'=\'',
  ],
  [
    'valueFrom with two sources',
    pods,
    pod(
      {},
      {
        env: [
          { name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { name: 's', key: 'k' } } },
        ],
      },
    ),
    'spec.containers[0].env[0].valueFrom',
    'Invalid value: "": may not have more than one field specified at a time',
  ],
  [
    'a probe with two handlers',
    pods,
    pod({}, { livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } }),
    'spec.containers[0].livenessProbe.tcpSocket',
    'Forbidden: may not specify more than 1 handler type',
  ],
  [
    'a probe without a handler',
    pods,
    pod({}, { readinessProbe: { periodSeconds: 5 } }),
    'spec.containers[0].readinessProbe',
    'Required value: must specify a handler type',
  ],
  [
    'a liveness successThreshold of 2',
    pods,
    pod({}, { livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }),
    'spec.containers[0].livenessProbe.successThreshold',
    'Invalid value: 2: must be 1',
  ],
  [
    'requests above limits',
    pods,
    pod({}, { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }),
    'spec.containers[0].resources.requests',
    'Invalid value: "2": must be less than or equal to cpu limit of 1',
  ],
  [
    'a malformed quantity',
    pods,
    pod({}, { resources: { limits: { memory: '12 parsecs' } } }),
    'spec.containers[0].resources.limits[memory]',
    'Invalid value: "12 parsecs": quantities must match',
  ],
  [
    'an unknown restartPolicy',
    pods,
    pod({ restartPolicy: 'Sometimes' }),
    'spec.restartPolicy',
    'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ],
  [
    'a hostAlias that is not an IP',
    pods,
    pod({ hostAliases: [{ ip: '1.2.3', hostnames: ['a'] }] }),
    'spec.hostAliases[0].ip',
    'Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ],
  [
    'an unknown toleration effect',
    pods,
    pod({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }] }),
    'spec.tolerations[0].effect',
    'Unsupported value: "Sometimes"',
  ],
  [
    'a negative terminationGracePeriodSeconds',
    pods,
    pod({ terminationGracePeriodSeconds: -1 }),
    'spec.terminationGracePeriodSeconds',
    'Invalid value: -1: must be greater than or equal to 0',
  ],
  [
    'a string where a port number belongs',
    pods,
    pod({}, { ports: [{ containerPort: '80' }] }),
    'spec.containers[0].ports[0].containerPort',
    'Invalid value: "string": spec.containers[0].ports[0].containerPort must be of type integer',
  ],
  [
    'a label value with a newline',
    pods,
    { metadata: meta('p', { labels: { app: 'a\nb' } }), spec: podSpec() },
    'metadata.labels',
    'Invalid value: "a\\nb": a valid label must be an empty string',
  ],
  [
    'a label key with two slashes',
    pods,
    { metadata: meta('p', { labels: { 'a/b/c': 'x' } }), spec: podSpec() },
    'metadata.labels',
    'Invalid value: "a/b/c": a qualified name must consist of',
  ],
  [
    'annotations over 256 KiB',
    pods,
    { metadata: meta('p', { annotations: { big: 'x'.repeat(262145) } }), spec: podSpec() },
    'metadata.annotations',
    'Too long: may not be more than 262144 bytes',
  ],
  [
    'a name with upper case',
    configmaps,
    { metadata: meta('Web') },
    'metadata.name',
    'Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of',
  ],
  [
    'a deployment template volume that climbs out',
    deployments,
    deployment({ template: template(podSpec({ volumes: [{ name: '../..', emptyDir: {} }] })) }),
    'spec.template.spec.volumes[0].name',
    `Invalid value: "../..": ${label1123}`,
  ],
  [
    'a deployment selector that misses the template',
    deployments,
    deployment({ selector: { matchLabels: { app: 'other' } } }),
    'spec.template.metadata.labels',
    'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
  ],
  [
    'negative replicas',
    deployments,
    deployment({ replicas: -1 }),
    'spec.replicas',
    'Invalid value: -1: must be greater than or equal to 0',
  ],
  [
    'a deployment template restartPolicy Never',
    deployments,
    deployment({ template: template(podSpec({ restartPolicy: 'Never' })) }),
    'spec.template.spec.restartPolicy',
    'Unsupported value: "Never": supported values: "Always"',
  ],
  [
    'a service port name with a quote and a newline',
    services,
    service({ ports: [{ name: 'x"\n-j ACCEPT', port: 80, protocol: 'TCP' }] }),
    'spec.ports[0].name',
    'Invalid value: "x\\"\\n-j ACCEPT": a lowercase RFC 1123 label',
  ],
  [
    'a service port out of range',
    services,
    service({ ports: [{ port: 0, protocol: 'TCP' }] }),
    'spec.ports[0].port',
    'Invalid value: 0: must be between 1 and 65535, inclusive',
  ],
  [
    'an unnamed port among two',
    services,
    service({
      ports: [
        { name: 'a', port: 80, protocol: 'TCP' },
        { port: 81, protocol: 'TCP' },
      ],
    }),
    'spec.ports[1].name',
    'Required value',
  ],
  [
    'a named targetPort with a space',
    services,
    service({ ports: [{ port: 80, targetPort: 'a b', protocol: 'TCP' }] }),
    'spec.ports[0].targetPort',
    'Invalid value: "a b": must contain only alpha-numeric characters',
  ],
  [
    'an unknown service protocol',
    services,
    service({ ports: [{ port: 80, protocol: 'tcp' }] }),
    'spec.ports[0].protocol',
    'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
  ],
  [
    'an unknown service type',
    services,
    service({ type: 'Magic' }),
    'spec.type',
    'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  ],
  [
    'a clusterIP that is not an IP',
    services,
    service({ clusterIP: '10.96.0.300' }),
    'spec.clusterIP',
    'Invalid value: "10.96.0.300": must be empty, \'None\', or a valid IP address',
  ],
  [
    'an externalName with a newline',
    services,
    { metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'a\nb' } },
    'spec.externalName',
    'Invalid value: "a\\nb": a lowercase RFC 1123 subdomain',
  ],
  [
    'an externalIP that is not an IP',
    services,
    service({ externalIPs: ['x;y'] }),
    'spec.externalIPs[0]',
    'Invalid value: "x;y": must be a valid IP address',
  ],
  [
    'a headless NodePort service',
    services,
    service({ type: 'NodePort', clusterIP: 'None' }),
    'spec.clusterIP',
    'Invalid value: "None": may not be set to \'None\' for NodePort services',
  ],
  [
    'a nodePort on a ClusterIP service',
    services,
    service({ ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] }),
    'spec.ports[0].nodePort',
    "Forbidden: may not be used when `type` is 'ClusterIP'",
  ],
  [
    'a service name that starts with a digit',
    services,
    { ...service(), metadata: meta('1web') },
    'metadata.name',
    'Invalid value: "1web": a DNS-1035 label',
  ],
  [
    'an endpointslice port given as a string',
    slices,
    slice({ ports: [{ name: 'http', port: '80', protocol: 'TCP' }] }),
    'ports[0].port',
    'Invalid value: "string": ports[0].port must be of type integer',
  ],
  [
    'an endpointslice port out of range',
    slices,
    slice({ ports: [{ port: 65536, protocol: 'TCP' }] }),
    'ports[0].port',
    'Invalid value: 65536: must be between 1 and 65535, inclusive',
  ],
  [
    'an endpointslice port name with a quote',
    slices,
    slice({ ports: [{ name: 'a"b', port: 80 }] }),
    'ports[0].name',
    'Invalid value: "a\\"b": a lowercase RFC 1123 label',
  ],
  [
    'an IPv4 slice with a hostile address',
    slices,
    slice({ endpoints: [{ addresses: ['10.0.0.1 -j DROP'] }] }),
    'endpoints[0].addresses[0]',
    'Invalid value: "10.0.0.1 -j DROP": must be a valid IPv4 address',
  ],
  [
    'an IPv6 address in an IPv4 slice',
    slices,
    slice({ endpoints: [{ addresses: ['fd00::1'] }] }),
    'endpoints[0].addresses[0]',
    'Invalid value: "fd00::1": must be a valid IPv4 address',
  ],
  [
    'an address that is a number',
    slices,
    slice({ endpoints: [{ addresses: [10] }] }),
    'endpoints[0].addresses[0]',
    'Invalid value: "integer": endpoints[0].addresses[0] must be of type string',
  ],
  [
    'a ready condition given as a string',
    slices,
    slice({ endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'true' } }] }),
    'endpoints[0].conditions.ready',
    'Invalid value: "string": endpoints[0].conditions.ready must be of type boolean',
  ],
  [
    'an endpoint with no addresses',
    slices,
    slice({ endpoints: [{ addresses: [] }] }),
    'endpoints[0].addresses',
    'Required value',
  ],
  [
    'more than 100 addresses in one endpoint',
    slices,
    slice({ endpoints: [{ addresses: Array.from({ length: 101 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }] }),
    'endpoints[0].addresses',
    'Too many: 101: must have at most 100 items',
  ],
  [
    'more than 1000 endpoints',
    slices,
    slice({ endpoints: Array.from({ length: 1001 }, () => ({ addresses: ['10.0.0.1'] })) }),
    'endpoints',
    'Too many: 1001: must have at most 1000 items',
  ],
  [
    'an endpoint hostname with a dot',
    slices,
    slice({ endpoints: [{ addresses: ['10.0.0.1'], hostname: 'a.b' }] }),
    'endpoints[0].hostname',
    'Invalid value: "a.b": must not contain dots',
  ],
  [
    'an unknown addressType',
    slices,
    slice({ addressType: 'IPX' }),
    'addressType',
    'Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"',
  ],
  [
    'a node podCIDR that is not a CIDR',
    nodes,
    { metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/33' } },
    'spec.podCIDR',
    'Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ],
  [
    'a node podCIDRs entry with a newline',
    nodes,
    { metadata: { name: 'n1' }, spec: { podCIDRs: ['10.244.1.0/24\n'] } },
    'spec.podCIDRs[0]',
    'Invalid value: "10.244.1.0/24\\n": must be a valid CIDR value',
  ],
  [
    'a taint with no effect',
    nodes,
    { metadata: { name: 'n1' }, spec: { taints: [{ key: 'k' }] } },
    'spec.taints[0].effect',
    'Required value',
  ],
  [
    'an endpoints address that is not an IP',
    endpoints,
    { metadata: meta('web'), subsets: [{ addresses: [{ ip: 'evil' }], ports: [{ port: 80 }] }] },
    'subsets[0].addresses[0].ip',
    'Invalid value: "evil": must be a valid IP address',
  ],
  [
    'a configmap key that climbs out',
    configmaps,
    { metadata: meta('c'), data: { '../x': 'y' } },
    'data[../x]',
    "Invalid value: \"../x\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
  ],
  [
    'a configmap key of ..',
    configmaps,
    { metadata: meta('c'), data: { '..': 'y' } },
    'data[..]',
    'Invalid value: "..": must not be \'..\'',
  ],
  [
    'a key in both data and binaryData',
    configmaps,
    { metadata: meta('c'), data: { a: 'y' }, binaryData: { a: 'AA==' } },
    'binaryData[a]',
    'Invalid value: "a": duplicate of key present in data',
  ],
  [
    'a configmap over 1 MiB',
    configmaps,
    { metadata: meta('c'), data: { a: 'x'.repeat(600 * 1024), b: 'y'.repeat(600 * 1024) } },
    '',
    'Too long: may not be more than 1048576 bytes',
  ],
  [
    'a secret over 1 MiB once decoded',
    secrets,
    { metadata: meta('s'), data: { a: Buffer.alloc(1024 * 1024 + 1).toString('base64') } },
    'data',
    'Too long: may not be more than 1048576 bytes',
  ],
  [
    'a tls secret without a key',
    secrets,
    { metadata: meta('s'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==' } },
    'data[tls.key]',
    'Required value',
  ],
  [
    'a job that restarts Always',
    jobs,
    { metadata: meta('j'), spec: { template: { spec: podSpec({ restartPolicy: 'Always' }) } } },
    'spec.template.spec.restartPolicy',
    'Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ],
  [
    'a negative backoffLimit',
    jobs,
    { metadata: meta('j'), spec: { backoffLimit: -1, template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
    'spec.backoffLimit',
    'Invalid value: -1: must be greater than or equal to 0',
  ],
  [
    'a cron schedule with 3 fields',
    cronjobs,
    {
      metadata: meta('c'),
      spec: { schedule: '* * *', jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } } },
    },
    'spec.schedule',
    'Invalid value: "* * *": expected exactly 5 fields, found 3',
  ],
  [
    'a cron minute of 61',
    cronjobs,
    {
      metadata: meta('c'),
      spec: {
        schedule: '61 * * * *',
        jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
      },
    },
    'spec.schedule',
    'Invalid value: "61 * * * *": unparseable schedule',
  ],
  [
    'a time zone inside the schedule',
    cronjobs,
    {
      metadata: meta('c'),
      spec: {
        schedule: 'TZ=UTC 0 * * * *',
        jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
      },
    },
    'spec.schedule',
    'Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
  ],
  [
    'an unknown time zone',
    cronjobs,
    {
      metadata: meta('c'),
      spec: {
        schedule: '0 * * * *',
        timeZone: 'Mars/Olympus',
        jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
      },
    },
    'spec.timeZone',
    'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
  ],
  [
    "an event about another namespace's object",
    events,
    {
      metadata: meta('x.1'),
      involvedObject: { kind: 'Pod', namespace: 'kube-system', name: 'etcd' },
      reason: 'Killing',
    },
    'involvedObject.namespace',
    'Invalid value: "kube-system": does not match event.namespace',
  ],
  [
    'a rule without verbs',
    roles,
    { metadata: meta('r'), rules: [{ apiGroups: [''], resources: ['pods'] }] },
    'rules[0].verbs',
    'Required value: verbs must contain at least one value',
  ],
  [
    'a namespaced rule on a non-resource URL',
    roles,
    { metadata: meta('r'), rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }] },
    'rules[0].nonResourceURLs',
    'Invalid value: ["/metrics"]: namespaced rules cannot apply to non-resource URLs',
  ],
  [
    'a ClusterRoleBinding to a Role',
    clusterrolebindings,
    {
      metadata: { name: 'b' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      subjects: [],
    },
    'roleRef.kind',
    'Unsupported value: "Role": supported values: "ClusterRole"',
  ],
  [
    'a subject of an unknown kind',
    rolebindings,
    {
      metadata: meta('b'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      subjects: [{ kind: 'Robot', name: 'r2' }],
    },
    'subjects[0].kind',
    'Unsupported value: "Robot": supported values: "Group", "ServiceAccount", "User"',
  ],
  [
    'a lease of zero seconds',
    leases,
    { metadata: meta('l'), spec: { leaseDurationSeconds: 0 } },
    'spec.leaseDurationSeconds',
    'Invalid value: 0: must be greater than 0',
  ],
  [
    'a CSR without request',
    csrs,
    { metadata: { name: 'c' }, spec: { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } },
    'spec.request',
    'Required value',
  ],
  [
    'a CSR with an unknown usage',
    csrs,
    {
      metadata: { name: 'c' },
      spec: { request: 'AA', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['root'] },
    },
    'spec.usages[0]',
    'Unsupported value: "root"',
  ],
  [
    'a CSR for 5 minutes',
    csrs,
    {
      metadata: { name: 'c' },
      spec: {
        request: 'AA',
        signerName: 'kubernetes.io/kube-apiserver-client',
        usages: ['client auth'],
        expirationSeconds: 300,
      },
    },
    'spec.expirationSeconds',
    'Invalid value: 300: may not specify a duration less than 600 seconds (10 minutes)',
  ],
  [
    'a CSR signer without a path',
    csrs,
    { metadata: { name: 'c' }, spec: { request: 'AA', signerName: 'kubernetes.io', usages: ['client auth'] } },
    'spec.signerName',
    'Invalid value: "kubernetes.io": must be a fully qualified domain and path',
  ],
];

for (const [title, info, object, field, message] of refused) {
  test(`refused: ${title}`, (t) => {
    const causes = validationErrors(info, object).causes;
    const cause = causes.find((c) => c.field === field);
    t.truthy(cause, `no error at ${field}; got ${JSON.stringify(causes)}`);
    t.true(cause!.message!.startsWith(message), cause!.message);
  });
}

test('updates: immutable selectors, pod fields, roleRef; allowed pod changes pass', (t) => {
  const old = pod({ tolerations: [] });
  const changedImage = pod({ tolerations: [] }, { image: 'nginx:1.28' });
  t.deepEqual(validationErrors(pods, changedImage, old).causes, []);
  const changedPorts = pod({ tolerations: [] }, { ports: [{ containerPort: 81 }] });
  t.is(validationErrors(pods, changedPorts, old).causes[0]?.field, 'spec');
  const moved = deployment({
    selector: { matchLabels: { app: 'web', tier: 'x' } },
    template: { metadata: { labels: { app: 'web', tier: 'x' } }, spec: podSpec() },
  });
  t.is(
    validationErrors(deployments, moved, deployment()).causes[0]?.message,
    'Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable',
  );
  const binding = (name: string) => ({
    metadata: meta('b'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [],
  });
  t.is(validationErrors(rolebindings, binding('admin'), binding('view')).causes[0]?.field, 'roleRef');
});

test('a whole 422 reads as upstream prints it', (t) => {
  const error = t.throws(() => {
    const errors = validationErrors(pods, pod({ volumes: [{ name: '../..', emptyDir: {} }] }));
    errors.throwIfAny('Pod', '', 'p');
  });
  t.is(error.message, `Pod "p" is invalid: spec.volumes[0].name: Invalid value: "../..": ${label1123}`);
});

test('pod updates: tolerations may be added but not removed; binding adds nodeName; key order does not matter', (t) => {
  const toleration = { key: 'k', operator: 'Exists', effect: 'NoSchedule' };
  const old = pod({ tolerations: [toleration] });
  t.deepEqual(
    validationErrors(pods, pod({ tolerations: [toleration, { key: 'j', operator: 'Exists' }] }), old).causes,
    [],
  );
  t.is(validationErrors(pods, pod({ tolerations: [] }), old).causes[0]?.field, 'spec');
  t.deepEqual(validationErrors(pods, pod({ tolerations: [toleration], nodeName: 'n1' }), old).causes, []);
  const reordered = {
    metadata: meta('p'),
    spec: {
      restartPolicy: 'Always',
      tolerations: [{ effect: 'NoSchedule', operator: 'Exists', key: 'k' }],
      containers: [{ image: 'nginx:1.27', name: 'web' }],
    },
  };
  t.deepEqual(validationErrors(pods, reordered, old).causes, []);
});

test('scheduling: node affinity operators, pod affinity topology keys, spread skew', (t) => {
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Near', values: ['a'] }] }],
      },
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 101, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } } } },
      ],
    },
  };
  const causes = validationErrors(
    pods,
    pod({
      affinity,
      topologySpreadConstraints: [{ maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
    }),
  ).causes;
  t.deepEqual(causes.map((c) => c.field).sort(), [
    'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    'spec.topologySpreadConstraints[0].maxSkew',
  ]);
  const fine = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }],
      },
    },
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  };
  t.deepEqual(
    validationErrors(
      pods,
      pod({
        affinity: fine,
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'zone',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: { app: 'web' } },
          },
        ],
      }),
    ).causes,
    [],
  );
});

test('status writes: pod IPs and load balancer ingress addresses must be addresses', async (t) => {
  const { statusErrors } = await import('../../../controlplane/validation/status.ts');
  const fields = (info: ValidatedResource, status: Any) =>
    statusErrors(info, { metadata: meta('x'), status }).causes.map((c) => `${c.field}: ${c.message}`);
  t.deepEqual(fields(pods, { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '192.168.1.10' }), []);
  t.deepEqual(fields(pods, { podIP: '10.0.0.1 -j ACCEPT', podIPs: [{ ip: 'x' }] }), [
    'status.podIP: Invalid value: "10.0.0.1 -j ACCEPT": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'status.podIPs[0].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'status.podIPs[0].ip: Invalid value: "x": must be equal to the value of podIP',
  ]);
  t.deepEqual(
    fields(services, { loadBalancer: { ingress: [{ ip: '192.168.1.240' }, { hostname: 'lb.example.com' }] } }),
    [],
  );
  t.deepEqual(fields(services, { loadBalancer: { ingress: [{ ip: '1.2.3.4\n' }, { hostname: '1.2.3.4' }] } }), [
    'status.loadBalancer.ingress[0].ip: Invalid value: "1.2.3.4\\n": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'status.loadBalancer.ingress[1].hostname: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
  ]);
});

test('every stored built-in kind has validation rules of its own', async (t) => {
  const { resources, isVirtual } = await import('../../../controlplane/api/resources.ts');
  const { hasKindRules } = await import('../../../controlplane/validation/index.ts');
  const missing = resources.filter((r) => !isVirtual(r) && !hasKindRules(r)).map((r) => `${r.group}/${r.resource}`);
  t.deepEqual(missing, []);
});

test('node updates: pod subnets and provider ID are assigned once', (t) => {
  const node = (spec: Any) => ({ metadata: { name: 'n1' }, spec });
  t.deepEqual(
    validationErrors(nodes, node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] }), node({})).causes,
    [],
  );
  t.deepEqual(
    validationErrors(
      nodes,
      node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], unschedulable: true }),
      node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] }),
    ).causes,
    [],
  );
  const moved = validationErrors(
    nodes,
    node({ podCIDR: '10.244.9.0/24', podCIDRs: ['10.244.9.0/24'] }),
    node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] }),
  ).causes;
  t.deepEqual(
    moved.map((c) => `${c.field}: ${c.message}`),
    ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'],
  );
  const provider = validationErrors(nodes, node({ providerID: 'b' }), node({ providerID: 'a' })).causes;
  t.deepEqual(
    provider.map((c) => c.field),
    ['spec.providerID'],
  );
});

test('job updates: the template is fixed unless the job is suspended', (t) => {
  const job = (image: string, suspend?: boolean) => ({
    metadata: meta('j'),
    spec: {
      ...(suspend === undefined ? {} : { suspend }),
      template: { metadata: {}, spec: podSpec({ restartPolicy: 'Never' }, { image }) },
    },
  });
  t.deepEqual(
    validationErrors(jobs, job('busybox:2'), job('busybox:1')).causes.map((c) => c.field),
    ['spec.template'],
  );
  t.deepEqual(validationErrors(jobs, job('busybox:2', true), job('busybox:1', true)).causes, []);
  t.deepEqual(
    validationErrors(jobs, { ...job('busybox:1'), metadata: meta('j', { labels: { a: 'b' } }) }, job('busybox:1'))
      .causes,
    [],
  );
});

test('downward API field paths: only what upstream lets an env var or a volume file read', (t) => {
  const env = (fieldRef: Any) => pod({}, { env: [{ name: 'X', valueFrom: { fieldRef } }] });
  const file = (fieldRef: Any) =>
    pod({ volumes: [{ name: 'info', downwardAPI: { items: [{ path: 'f', fieldRef }] } }] });
  const causes = (object: Any) => validationErrors(pods, object).causes.map((c) => `${c.field}: ${c.message}`);
  // accepted, as upstream accepts them
  for (const fieldPath of ['metadata.name', 'status.podIP', 'spec.nodeName', "metadata.labels['app']", 'spec.host'])
    t.deepEqual(causes(env({ fieldPath })), [], fieldPath);
  for (const fieldPath of ['metadata.labels', 'metadata.annotations', "metadata.annotations['Team.io/Owner']"])
    t.deepEqual(causes(file({ apiVersion: 'v1', fieldPath })), [], fieldPath);
  // refused with upstream's field paths and words
  t.deepEqual(causes(env({ fieldPath: 'metadata.labels' })), [
    'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
  ]);
  t.deepEqual(causes(file({ fieldPath: 'status.podIP' })), [
    'spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: "status.podIP": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"',
  ]);
  t.deepEqual(causes(env({ fieldPath: 'spec.containers[0].image' })), [
    'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.containers[0].image": error converting fieldPath: field label not supported: spec.containers[0].image',
  ]);
  t.deepEqual(causes(env({ fieldPath: "metadata.name['x']" })), [
    `spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name['x']": error converting fieldPath: field label does not support subscript: metadata.name['x']`,
  ]);
  t.deepEqual(causes(env({ apiVersion: 'v2', fieldPath: 'metadata.name' })), [
    'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name": error converting fieldPath: unsupported pod version: v2',
  ]);
  t.regex(
    causes(file({ fieldPath: "metadata.labels['../../etc']" })).join('\n'),
    /^spec\.volumes\[0\]\.downwardAPI\.items\[0\]\.fieldRef: Invalid value: "\.\.\/\.\.\/etc": /,
  );
  t.deepEqual(causes(env({ fieldPath: 7 })), [
    'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "integer": spec.containers[0].env[0].valueFrom.fieldRef.fieldPath must be of type string',
  ]);
  // projected volumes check their downward API items the same way
  const projected = pod({
    volumes: [
      {
        name: 'p',
        projected: { sources: [{ downwardAPI: { items: [{ path: 'f', fieldRef: { fieldPath: 'spec.nodeName' } }] } }] },
      },
    ],
  });
  t.regex(
    causes(projected).join('\n'),
    /projected\.sources\[0\]\.downwardAPI\.items\[0\]\.fieldRef\.fieldPath: Unsupported value: "spec\.nodeName"/,
  );
});
