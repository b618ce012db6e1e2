import test from 'ava';
import yaml from 'js-yaml';
import {
  kubeconfigForEveryServer,
  listedServerUrls,
  serverContextName,
} from '../../../host/kubeconfig/every-server.ts';
import type { LoadedKubeconfig } from '../../../kube/kubeconfig.ts';

const base: LoadedKubeconfig = {
  path: '/etc/bosun/admin.kubeconfig',
  client: { server: 'https://10.0.0.11:6443', ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
  namespace: 'default',
  user: 'kubernetes-admin',
  context: 'kubernetes-admin@bosun',
  cluster: 'bosun',
};

test('every listed server once, as an https URL; servers on other ports from their own subsets', (t) => {
  t.deepEqual(
    listedServerUrls({
      subsets: [
        { addresses: [{ ip: '10.0.0.11' }, { ip: '10.0.0.12' }], ports: [{ name: 'https', port: 6443 }] },
        { addresses: [{ ip: 'fd00::13' }, { ip: '10.0.0.11' }], ports: [{ name: 'https', port: 7443 }] },
        { addresses: [{ ip: '10.0.0.12' }], ports: [{ name: 'https', port: 6443 }] },
      ],
    }),
    ['https://10.0.0.11:6443', 'https://10.0.0.12:6443', 'https://[fd00::13]:7443', 'https://10.0.0.11:7443'],
  );
  t.deepEqual(listedServerUrls({}), []);
});

test('an address that is not an IP or a port that is not a port number never becomes a server', (t) => {
  t.deepEqual(
    listedServerUrls({
      subsets: [
        {
          addresses: [
            { ip: 'evil.example.com' },
            { ip: '10.0.0.1/8' },
            { ip: '10.0.0.1:1@evil' },
            { ip: '10.0.0.1\n    server: https://evil' },
            { ip: 'x'.repeat(100_000) },
            {},
          ],
          ports: [{ name: 'https', port: 6443 }],
        },
        { addresses: [{ ip: '10.0.0.2' }], ports: [{ name: 'https', port: 70_000 }] },
        { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'https', port: 6443.5 }] },
        { addresses: [{ ip: '10.0.0.4' }], ports: [{ name: 'metrics', port: 9100 }] },
        { addresses: [{ ip: '10.0.0.5' }], ports: [{ name: 'https', port: '6443' as unknown as number }] },
      ],
    }),
    [],
  );
});

test('the kubeconfig keeps its own context current and adds one context per server, same CA and user', (t) => {
  const servers = ['https://10.0.0.11:6443', 'https://10.0.0.12:6443', 'https://[fd00::13]:6443'];
  const doc = yaml.load(kubeconfigForEveryServer(base, servers)) as any;
  t.is(doc['current-context'], 'kubernetes-admin@bosun');
  t.deepEqual(
    doc.contexts.map((c: any) => [c.name, c.context.cluster, c.context.user]),
    [
      ['kubernetes-admin@bosun', 'bosun', 'kubernetes-admin'],
      ['bosun-10.0.0.11:6443', 'bosun-10.0.0.11:6443', 'kubernetes-admin'],
      ['bosun-10.0.0.12:6443', 'bosun-10.0.0.12:6443', 'kubernetes-admin'],
      ['bosun-[fd00::13]:6443', 'bosun-[fd00::13]:6443', 'kubernetes-admin'],
    ],
  );
  t.deepEqual(
    doc.clusters.map((c: any) => [c.name, c.cluster.server]),
    [
      ['bosun', 'https://10.0.0.11:6443'],
      ['bosun-10.0.0.11:6443', 'https://10.0.0.11:6443'],
      ['bosun-10.0.0.12:6443', 'https://10.0.0.12:6443'],
      ['bosun-[fd00::13]:6443', 'https://[fd00::13]:6443'],
    ],
  );
  for (const c of doc.clusters)
    t.is(Buffer.from(c.cluster['certificate-authority-data'], 'base64').toString(), 'CA PEM');
  t.deepEqual(doc.users, [
    {
      name: 'kubernetes-admin',
      user: {
        'client-certificate-data': Buffer.from('CERT PEM').toString('base64'),
        'client-key-data': Buffer.from('KEY PEM').toString('base64'),
      },
    },
  ]);
  t.is(serverContextName('bosun', 'https://10.0.0.12:6443'), 'bosun-10.0.0.12:6443');
});
