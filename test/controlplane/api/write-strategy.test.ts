/**
 * The write strategies kind by kind: what the server stores for a client's create or update, as
 * upstream's PrepareForCreate / PrepareForUpdate (and the v1 Secret conversion) store it.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { prepareForCreate, prepareForUpdate } from '../../../controlplane/api/write-strategy.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const meta = { name: 'x' };

interface Row {
  resource: [group: string, resource: string];
  sent: Record<string, unknown>;
  /** What is left for admission and storage. */
  stored: Record<string, unknown>;
  /** For an update: the stored object before it. */
  old?: Record<string, unknown>;
}

const creates: Record<string, Row> = {
  'Pod: status dropped (the defaults then write Pending and the QoS class)': {
    resource: ['', 'pods'],
    sent: { metadata: meta, spec: {}, status: { phase: 'Running', podIP: '10.0.0.1' } },
    stored: { metadata: meta, spec: {} },
  },
  'Node: status kept (a kubelet registers with it)': {
    resource: ['', 'nodes'],
    sent: { metadata: meta, status: { capacity: { cpu: '2' } } },
    stored: { metadata: meta, status: { capacity: { cpu: '2' } } },
  },
  'Namespace: status dropped (the defaults write Active)': {
    resource: ['', 'namespaces'],
    sent: { metadata: meta, status: { phase: 'Terminating' } },
    stored: { metadata: meta },
  },
  'Service: status dropped': {
    resource: ['', 'services'],
    sent: { metadata: meta, spec: {}, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
    stored: { metadata: meta, spec: {} },
  },
  'ResourceQuota: status dropped': {
    resource: ['', 'resourcequotas'],
    sent: { metadata: meta, spec: { hard: { pods: '1' } }, status: { used: { pods: '0' } } },
    stored: { metadata: meta, spec: { hard: { pods: '1' } } },
  },
  'Deployment: status dropped': {
    resource: ['apps', 'deployments'],
    sent: { metadata: meta, spec: {}, status: { readyReplicas: 3 } },
    stored: { metadata: meta, spec: {} },
  },
  'Job: status dropped': {
    resource: ['batch', 'jobs'],
    sent: { metadata: meta, spec: {}, status: { succeeded: 1 } },
    stored: { metadata: meta, spec: {} },
  },
  'CertificateSigningRequest: status dropped': {
    resource: ['certificates.k8s.io', 'certificatesigningrequests'],
    sent: { metadata: meta, spec: {}, status: { conditions: [{ type: 'Approved', status: 'True' }] } },
    stored: { metadata: meta, spec: {} },
  },
  'ConfigMap (no status subresource): as sent': {
    resource: ['', 'configmaps'],
    sent: { metadata: meta, data: { a: 'b' } },
    stored: { metadata: meta, data: { a: 'b' } },
  },
  'Secret: stringData folded into data, stringData winning': {
    resource: ['', 'secrets'],
    sent: { metadata: meta, data: { a: b64('old'), b: b64('kept') }, stringData: { a: 'new', c: 'ü' } },
    stored: { metadata: meta, data: { a: b64('new'), b: b64('kept'), c: b64('ü') } },
  },
  'Secret: empty stringData leaves data alone': {
    resource: ['', 'secrets'],
    sent: { metadata: meta, stringData: {} },
    stored: { metadata: meta },
  },
};

const updates: Record<string, Row> = {
  'Pod: the stored status stays': {
    resource: ['', 'pods'],
    old: { metadata: meta, spec: {}, status: { phase: 'Pending' } },
    sent: { metadata: meta, spec: {}, status: { phase: 'Running' } },
    stored: { metadata: meta, spec: {}, status: { phase: 'Pending' } },
  },
  'Deployment: no status stored, none taken': {
    resource: ['apps', 'deployments'],
    old: { metadata: meta, spec: {} },
    sent: { metadata: meta, spec: {}, status: { readyReplicas: 3 } },
    stored: { metadata: meta, spec: {} },
  },
  'Node: the stored status stays': {
    resource: ['', 'nodes'],
    old: { metadata: meta, status: { capacity: { cpu: '2' } } },
    sent: { metadata: meta, status: { capacity: { cpu: '64' } } },
    stored: { metadata: meta, status: { capacity: { cpu: '2' } } },
  },
  'Secret: stringData folded into data': {
    resource: ['', 'secrets'],
    old: { metadata: meta, data: { a: b64('old') } },
    sent: { metadata: meta, data: { a: b64('old') }, stringData: { b: 'x' } },
    stored: { metadata: meta, data: { a: b64('old'), b: b64('x') } },
  },
};

for (const [title, row] of Object.entries(creates)) {
  test(`create: ${title}`, (t) => {
    const info = findResource(row.resource[0], 'v1', row.resource[1])!;
    const object = structuredClone(row.sent) as unknown as KubeObject;
    prepareForCreate(info, object);
    t.deepEqual(object as unknown, row.stored);
  });
}

for (const [title, row] of Object.entries(updates)) {
  test(`update: ${title}`, (t) => {
    const info = findResource(row.resource[0], 'v1', row.resource[1])!;
    const object = structuredClone(row.sent) as unknown as KubeObject;
    prepareForUpdate(info, object, row.old as unknown as KubeObject);
    t.deepEqual(object as unknown, row.stored);
  });
}
