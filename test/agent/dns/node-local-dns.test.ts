import test from 'ava';
import { nodeLocalDnsSlice } from '../../../agent/dns/node-local-endpoint.ts';
import type { Service } from '../../../kube/corev1.ts';

const local = { nodeName: 'node-1', nodeIP: '172.30.0.11', clusterDNS: ['10.96.0.10'], port: 53 };
const service = (clusterIP: string): Service => ({
  metadata: { name: 'kube-dns', namespace: 'kube-system' },
  spec: {
    clusterIP,
    ports: [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ],
  },
});

test('the Service holding the cluster DNS address gets this node as its only endpoint, at the DNS port', (t) => {
  t.deepEqual(nodeLocalDnsSlice(service('10.96.0.10'), { ...local, port: 1053 }), {
    metadata: {
      name: 'kube-dns-node-local-node-1',
      namespace: 'kube-system',
      labels: { 'kubernetes.io/service-name': 'kube-dns' },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['172.30.0.11'],
        nodeName: 'node-1',
        conditions: { ready: true, serving: true, terminating: false },
      },
    ],
    ports: [
      { name: 'dns', protocol: 'UDP', port: 1053 },
      { name: 'dns-tcp', protocol: 'TCP', port: 1053 },
    ],
  });
});

test('other Services, and no Service, get nothing', (t) => {
  t.is(nodeLocalDnsSlice(service('10.96.0.11'), local), undefined);
  t.is(nodeLocalDnsSlice(undefined, local), undefined);
});
