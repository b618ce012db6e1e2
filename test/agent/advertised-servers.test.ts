import test from 'ava';
import { advertisedServers } from '../../agent/api-servers.ts';
import type { KubeObject } from '../../kube/types.ts';

const slice = (fields: Record<string, unknown>, name = 'kubernetes') =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name },
    ...fields,
  }) as KubeObject;

test('every ready address of the kubernetes slices, on the https port', (t) => {
  t.deepEqual(
    advertisedServers([
      slice({
        addressType: 'IPv4',
        ports: [{ name: 'https', port: 6443 }],
        endpoints: [
          { addresses: ['10.0.0.1'], conditions: { ready: true } },
          { addresses: ['10.0.0.2'] },
          { addresses: ['10.0.0.3'], conditions: { ready: false } },
        ],
      }),
      slice({ addressType: 'IPv6', ports: [{ name: 'https', port: 443 }], endpoints: [{ addresses: ['fd00::1'] }] }),
    ]),
    ['https://10.0.0.1:6443', 'https://10.0.0.2:6443', 'https://[fd00::1]:443'],
  );
});

test("slices without a usable port, of another address type, or not the servers' own give nothing", (t) => {
  t.deepEqual(
    advertisedServers([
      slice({
        addressType: 'IPv4',
        ports: [{ name: 'metrics', port: 9100 }],
        endpoints: [{ addresses: ['10.0.0.1'] }],
      }),
      slice({ addressType: 'IPv4', ports: [{ name: 'https', port: 70000 }], endpoints: [{ addresses: ['10.0.0.1'] }] }),
      slice({
        addressType: 'FQDN',
        ports: [{ name: 'https', port: 443 }],
        endpoints: [{ addresses: ['evil.example'] }],
      }),
      slice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] }),
      // labelled for the Service by someone who may write slices in default: not the servers' own
      slice(
        { addressType: 'IPv4', ports: [{ name: 'https', port: 6443 }], endpoints: [{ addresses: ['10.9.9.9'] }] },
        'kubernetes-evil',
      ),
    ]),
    [],
  );
});

test('addresses that are not an IP of the slice family never become a server URL', (t) => {
  const hostile = [
    'evil.example',
    '10.0.0.1:99/x',
    '10.0.0.1\r\nHost: evil',
    '"10.0.0.1"',
    '../../10.0.0.1',
    '999.0.0.1',
    'fd00::1',
    'x'.repeat(1_000_000),
    7,
  ];
  t.deepEqual(
    advertisedServers([
      slice({ addressType: 'IPv4', ports: [{ name: 'https', port: 6443 }], endpoints: [{ addresses: hostile }] }),
      slice({
        addressType: 'IPv6',
        ports: [{ name: 'https', port: 6443 }],
        endpoints: [{ addresses: ['10.0.0.1', 'fd00::1]:1/['] }],
      }),
    ]),
    [],
  );
});
